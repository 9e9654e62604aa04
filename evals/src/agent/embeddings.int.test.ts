/**
 * The provider embedder against the demo's OpenAI mock (`POST /v1/embeddings`
 * over TLS with the demo CA, the real wire shape): vectors of the asked size,
 * in order, normalised, stored in pgvector and searched like the local ones;
 * a wrong-sized answer is refused, never stored.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { migrate, openPglite, type SqlClient } from '@higgs/tenant-api';
import { createKnowledgeBase, createProviderEmbedder } from '@higgs/tenant-api/knowledge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('knowledge: provider embeddings through the OpenAI-compatible mock', () => {
  let upstreams: MockUpstreams;
  let db: SqlClient;
  beforeAll(async () => {
    upstreams = await startMockUpstreams();
    db = await openPglite('memory://');
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await upstreams?.close();
  });

  const embedder = (dimensions?: number) => createProviderEmbedder({
    baseUrl: `${upstreams.url}/v1`, model: 'text-embedding-3-small', apiKey: 'sk-test', caCertPem: upstreams.caCertPem, batchSize: 16,
    ...(dimensions ? { dimensions } : {}),
  });

  it('embeds in batches, in order, at the store size, and the knowledge base indexes and searches with it', async () => {
    const e = embedder();
    const texts = Array.from({ length: 40 }, (_, i) => `passage ${i}`);
    const vectors = await e.embed(texts);
    expect(vectors).toHaveLength(40);
    for (const v of vectors) {
      expect(v).toHaveLength(256);
      expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    }
    expect(await e.embed(['passage 7'])).toEqual([vectors[7]]);
    const requests = upstreams.received.filter((r) => r.path === '/v1/embeddings');
    expect(requests.length).toBeGreaterThanOrEqual(4);

    const kb = createKnowledgeBase({ db, embedder: e });
    const out = await kb.search('t_provider', { query: 'how do I fix prompt injection', limit: 3 });
    expect(out.embedder).toBe('provider:text-embedding-3-small-256');
    expect(out.index).toBe('pgvector');
    expect(out.chunks).toHaveLength(3);
    // the mock's vectors are hashes, not meaning: only the plumbing is asserted here
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM knowledge_chunks WHERE tenant_id = 't_provider' AND embedder = $1", [out.embedder]);
    expect(rows[0]!.n).toBeGreaterThan(10);
  });

  it('refuses an answer with vectors of another size, and the store refuses them too', async () => {
    // a loopback endpoint that answers in the OpenAI shape with two-dimensional vectors
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.6, 0.8] }], model: 'm' })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const short = createProviderEmbedder({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, model: 'm', apiKey: 'k' });
      await expect(short.embed(['x'])).rejects.toMatchObject({ code: 'EMBEDDINGS_FAILED' });
    } finally {
      server.close();
    }
    // behind the embedder's check, pgvector's vector(256) column refuses a 64-dimension vector
    const lying = { ...embedder(64), id: 'lying' };
    await expect(createKnowledgeBase({ db, embedder: lying }).search('t_lying', { query: 'redact', limit: 1 })).rejects.toThrow();
  });

  it('says EMBEDDINGS_FAILED, without the key, when the endpoint is unreachable', async () => {
    const down = createProviderEmbedder({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKey: 'sk-secret-value', timeoutMs: 2000 });
    const err = await down.embed(['x']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EMBEDDINGS_FAILED' });
    expect(String((err as Error).message)).not.toContain('sk-secret-value');
  });
});
