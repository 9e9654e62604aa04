import { SearchKnowledgeOutput } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../testing/fixtures.ts';
import { openPglite, type SqlClient } from '../stores/sql-client.ts';
import { CHUNK_SIZE, chunkDocument, parseDocument, type Chunk } from './chunking.ts';
import { cosine, createHashedEmbedder, type Embedder } from './embedder.ts';
import { createKnowledgeBase, loadKnowledgeChunks } from './knowledge-base.ts';

describe('knowledge chunks', () => {
  it('splits every kb document into cited, bounded passages under their section headings', async () => {
    const chunks = await loadKnowledgeChunks();
    expect(new Set(chunks.map((c) => c.topic))).toEqual(new Set(['remediation', 'compliance', 'enforcement']));
    expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(CHUNK_SIZE);
    expect(chunks.map((c) => c.title)).toContain('Remediating Higgs findings › Prompt injection');
    expect(chunks.map((c) => c.title)).toContain('What the compliance frameworks ask for › SOC 2: logical access (CC6)');
  });

  it('refuses a document without its front matter', () => {
    expect(() => parseDocument('x', '# no front matter')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('keeps a long section in several passages, each within the size', async () => {
    const para = 'Redaction replaces the value before the request leaves the node. '.repeat(40);
    const chunks = await chunkDocument(parseDocument('long', `---\ntitle: Long\ntopic: enforcement\n---\n## Redact\n\n${para}\n\n${para}`));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.title === 'Long › Redact' && c.text.length <= CHUNK_SIZE)).toBe(true);
  });
});

describe('hashed n-gram embedder', () => {
  const embedder = createHashedEmbedder();
  it('is deterministic, unit length and puts shared word pieces close', async () => {
    const [a, b, c, again] = await embedder.embed([
      'how do I redact email addresses', 'an inline redact rule replaces email addresses with a mask',
      'SOC 2 change management asks for approved changes', 'how do I redact email addresses',
    ]);
    expect(a).toEqual(again);
    expect(a).toHaveLength(256);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6);
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!) + 0.1);
  });
});

describe('knowledge base on PGlite', () => {
  let db: SqlClient;
  beforeAll(async () => { db = await openTestDb(); }, 60_000);
  afterAll(async () => { await db.close(); });

  const counting = (inner: Embedder) => {
    const seen: string[] = [];
    return { seen, embedder: { id: inner.id, dimensions: inner.dimensions, embed: (t: readonly string[]) => { seen.push(...t); return inner.embed(t); } } };
  };
  const tenant = () => `t_${Math.random().toString(36).slice(2, 10)}`;

  it('finds the passage a question is about, in pgvector, scoped by topic', async () => {
    const kb = createKnowledgeBase({ db });
    const t = tenant();
    const out = SearchKnowledgeOutput.parse(await kb.search(t, { query: 'how do I fix prompt injection in my agent', limit: 3 }));
    expect(out.index).toBe('pgvector');
    expect(out.embedder).toBe('hashed-ngram-256');
    expect(out.chunks[0]!.title).toBe('Remediating Higgs findings › Prompt injection');
    expect(out.chunks.map((c) => c.score)).toEqual([...out.chunks.map((c) => c.score)].sort((x, y) => y - x));

    const eu = await kb.search(t, { query: 'what does the EU AI Act require for logging', topic: 'compliance', limit: 2 });
    expect(eu.chunks[0]!.title).toContain('EU AI Act: logging');
    expect(eu.chunks.every((c) => c.topic === 'compliance')).toBe(true);

    const kill = await kb.search(t, { query: 'what happens when I kill a session', limit: 1 });
    expect(kill.chunks[0]!.title).toBe('How the enforcement primitives behave › Session kill');
  });

  it('indexes each tenant once, re-embeds only changed passages and drops removed ones', async () => {
    const base = await loadKnowledgeChunks();
    let docs: Chunk[] = base;
    const { seen, embedder } = counting(createHashedEmbedder());
    const t = tenant();
    const other = tenant();
    const kb = createKnowledgeBase({ db, embedder, loadChunks: async () => docs });
    await kb.search(t, { query: 'quarantine', limit: 1 });
    expect(seen).toHaveLength(base.length + 1);
    const count = async (tenantId: string) => (await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM knowledge_chunks WHERE tenant_id = $1', [tenantId])).rows[0]!.n;
    expect(await count(t)).toBe(base.length);
    expect(await count(other)).toBe(0);

    // a second process over the same store: only the query is embedded
    seen.length = 0;
    docs = [{ ...base[0]!, text: `${base[0]!.text} Also rotate the key.` }, ...base.slice(1, -1)];
    const restarted = createKnowledgeBase({ db, embedder, loadChunks: async () => docs });
    await restarted.search(t, { query: 'rotate the key', limit: 1 });
    expect(seen).toEqual(['rotate the key', `${docs[0]!.title}\n${docs[0]!.text}`]);
    expect(await count(t)).toBe(base.length - 1);
  });

  it('answers nothing for a query with no words to match', async () => {
    const kb = createKnowledgeBase({ db });
    expect((await kb.search(tenant(), { query: 'what is the', limit: 3 })).chunks).toEqual([]);
  });

  it('ranks in process, and says so, when the store has no knowledge table', { timeout: 60_000 }, async () => {
    const bare = await openPglite('memory://');
    try {
      const out = await createKnowledgeBase({ db: bare }).search(tenant(), { query: 'how do I fix prompt injection', limit: 2 });
      expect(out.index).toBe('in-process');
      expect(out.chunks[0]!.title).toBe('Remediating Higgs findings › Prompt injection');
    } finally {
      await bare.close();
    }
  });
});
