import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Asset, Finding } from '@higgs/schema';
import { EVIDENCE_LIMIT } from '../findings/findings-engine.ts';
import { listAssets } from '../stores/assets-repository.ts';
import { countLlmCalls, listSessionExchanges } from '../stores/calls-repository.ts';
import { listFindings } from '../stores/findings-repository.ts';
import { getSession } from '../stores/sessions-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { batchOf, createTestTenant, llmCall, openTestDb } from '../testing/fixtures.ts';
import { createIngestQueue, ingestBatch } from './ingest.ts';

let db: SqlClient;
beforeAll(async () => { db = await openTestDb(); }, 60_000);
afterAll(async () => { await db?.close(); });

const ssn = (hash: string) => ({ type: 'ssn' as const, field: 'prompt' as const, hash });
const sanctioned = { namespaces: ['payments'], providers: ['openai'] };

async function findingsOf(tenantId: string) {
  return (await listFindings(db, { tenantId, filter: {}, limit: 200 })).findings.map((f) => Finding.parse(f));
}

/** Four calls over two sessions, out of time order: a user known only from the second, PII, an injection, an observe-mode app. */
function mixedCalls() {
  const session = (id: string, userId: string | null) => ({ userId, userSource: null, traceId: null, parentSpanId: null, sessionId: id });
  return [
    llmCall({ ts: '2026-11-20T10:03:00.000Z', attribution: session('s-a', null), detections: [ssn('aaaa1111')] }),
    llmCall({ ts: '2026-11-20T10:01:00.000Z', attribution: session('s-a', 'carol'), injectionScore: 70 }),
    llmCall({ ts: '2026-11-20T10:02:00.000Z', attribution: session('s-b', 'dave'), detections: [ssn('bbbb2222')] }),
    llmCall({ source: { ip: '10.0.1.1', namespace: 'marketing', app: 'copybot', mode: 'observe' }, attribution: session('s-a', 'erin') }),
  ];
}

/** What ingest leaves behind for a tenant of `mixedCalls()`: calls, assets, both sessions, findings (ids aside). */
async function stateOf(tenantId: string) {
  return {
    calls: await countLlmCalls(db, { tenantId }),
    assets: (await listAssets(db, { tenantId, limit: 50 })).assets.sort((x, y) => x.id.localeCompare(y.id)),
    sessions: [await getSession(db, { tenantId, id: 's-a' }), await getSession(db, { tenantId, id: 's-b' })],
    findings: (await findingsOf(tenantId)).map(({ id: _id, ...f }) => f).sort((x, y) => x.detector.localeCompare(y.detector)),
  };
}

describe('ingestBatch', () => {
  it('stores a repeated event id once and reports it as a duplicate', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const call = llmCall({ detections: [ssn('aaaa1111')] });
    expect(await ingestBatch(db, { tenantId, batch: batchOf(call, llmCall()) })).toEqual({ accepted: 2, duplicates: 0 });
    expect(await ingestBatch(db, { tenantId, batch: batchOf(call) })).toEqual({ accepted: 0, duplicates: 1 });
    expect(await ingestBatch(db, { tenantId, batch: batchOf(llmCall({ id: 'same_id_twice' }), llmCall({ id: 'same_id_twice' })) }))
      .toEqual({ accepted: 1, duplicates: 1 });
    expect(await countLlmCalls(db, { tenantId })).toBe(3);
    // the re-sent call did not count twice
    const [finding] = await findingsOf(tenantId);
    expect(finding?.count).toBe(1);
  });

  it('stores a call whose observed text holds NUL characters instead of failing the batch', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const call = llmCall({ messages: [{ role: 'user', content: 'hello\u0000world' }] });
    expect(await ingestBatch(db, { tenantId, batch: batchOf(call, llmCall()) })).toEqual({ accepted: 2, duplicates: 0 });
    const exchanges = await listSessionExchanges(db, { tenantId, sessionId: call.attribution.sessionId });
    expect(exchanges.some((e) => e.messages.some((m) => m.content === 'hello\uFFFDworld'))).toBe(true);
  });

  it('raises one PII finding per workload and type, counting occurrences', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    await ingestBatch(db, {
      tenantId,
      batch: batchOf(
        llmCall({ ts: '2026-11-20T10:00:00.000Z', detections: [ssn('aaaa1111'), ssn('bbbb2222')] }),
        llmCall({ ts: '2026-11-20T10:05:00.000Z', detections: [ssn('cccc3333')], attribution: { userId: 'bob', userSource: 'jwt', traceId: null, parentSpanId: null, sessionId: 'sess-2' } }),
        llmCall({ ts: '2026-11-20T10:01:00.000Z', detections: [{ type: 'email', field: 'prompt', hash: 'dddd4444' }] }),
        // same type, other workload: its own finding
        llmCall({ detections: [ssn('eeee5555')], source: { ip: '10.0.0.9', namespace: 'payments', app: 'refunds', mode: null } }),
      ),
    });
    const findings = await findingsOf(tenantId);
    const checkoutSsn = findings.find((f) => f.detector === 'pii.ssn' && f.evidence.app === 'checkout');
    expect(findings.map((f) => `${f.evidence.app}:${f.detector}`).sort()).toEqual(['checkout:pii.email', 'checkout:pii.ssn', 'refunds:pii.ssn']);
    expect(checkoutSsn).toMatchObject({
      category: 'pii', severity: 'critical', status: 'open', count: 2,
      firstSeen: '2026-11-20T10:00:00.000Z', lastSeen: '2026-11-20T10:05:00.000Z',
    });
    expect(checkoutSsn?.evidence).toMatchObject({
      piiType: 'ssn', provider: 'openai', model: 'gpt-4o-mini', host: 'api.openai.com', namespace: 'payments', app: 'checkout',
      users: ['bob', 'alice@example.com'], sessionIds: ['sess-2', 'sess-1'],
    });
    expect(checkoutSsn?.evidence.valueHashes.sort()).toEqual(['aaaa1111', 'bbbb2222', 'cccc3333']);
    expect(findings.find((f) => f.detector === 'pii.email')?.severity).toBe('medium');
    // most severe first
    expect(findings[0]?.severity).toBe('critical');
  });

  it('keeps only the latest evidence ids', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const calls = Array.from({ length: EVIDENCE_LIMIT + 5 }, (_, i) => llmCall({
      ts: new Date(Date.UTC(2026, 10, 20, 10, i)).toISOString(), detections: [ssn(`hash${String(i).padStart(4, '0')}`)],
    }));
    await ingestBatch(db, { tenantId, batch: batchOf(...calls) });
    const [finding] = await findingsOf(tenantId);
    expect(finding?.count).toBe(EVIDENCE_LIMIT + 5);
    expect(finding?.evidence.callIds).toHaveLength(EVIDENCE_LIMIT);
    expect(finding?.evidence.callIds[0]).toBe(calls.at(-1)?.id);
    expect(finding?.evidence.callIds).not.toContain(calls[0]?.id);
    expect(finding?.evidence.valueHashes).toHaveLength(EVIDENCE_LIMIT);
  });

  it('counts a blocked call as an occurrence of the same finding, not a new one', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    await ingestBatch(db, { tenantId, batch: batchOf(llmCall({ detections: [ssn('aaaa1111')] })) });
    await ingestBatch(db, {
      tenantId, batch: batchOf(llmCall({ detections: [ssn('aaaa1111')], verdict: 'block', status: 403, ruleIds: ['rul_x'], response: null })),
    });
    const findings = await findingsOf(tenantId);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.count).toBe(2);
  });

  it('raises an injection finding at score 50 and keeps the maximum score', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    await ingestBatch(db, { tenantId, batch: batchOf(llmCall({ injectionScore: 49 })) });
    expect(await findingsOf(tenantId)).toHaveLength(0);
    await ingestBatch(db, { tenantId, batch: batchOf(llmCall({ injectionScore: 80 }), llmCall({ injectionScore: 55 })) });
    const [finding] = await findingsOf(tenantId);
    expect(finding).toMatchObject({ category: 'injection', severity: 'high', detector: 'injection.prompt', count: 2 });
    expect(finding?.evidence.maxInjectionScore).toBe(80);
  });

  it('raises shadow findings for workloads and providers outside the baseline', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    await ingestBatch(db, {
      tenantId,
      batch: batchOf(
        llmCall(),
        llmCall({ source: { ip: '10.0.1.1', namespace: 'marketing', app: 'copybot', mode: null } }),
        llmCall({ provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-x' }),
      ),
    });
    const findings = await findingsOf(tenantId);
    expect(findings.map((f) => `${f.evidence.namespace}/${f.evidence.app}:${f.detector}`).sort()).toEqual([
      'marketing/copybot:shadow.namespace',
      'payments/checkout:shadow.provider.api.anthropic.com',
    ]);
    expect(findings.every((f) => f.category === 'shadow')).toBe(true);
  });

  it('registers workloads, providers and models with call counts and governance', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    await ingestBatch(db, {
      tenantId,
      batch: batchOf(
        llmCall({ ts: '2026-11-20T10:00:00.000Z' }),
        llmCall({ ts: '2026-11-20T11:00:00.000Z' }),
        llmCall({ source: { ip: '10.0.1.1', namespace: 'marketing', app: 'copybot', mode: null } }),
      ),
    });
    const { assets } = await listAssets(db, { tenantId, limit: 50 });
    const byName = new Map(assets.map((a) => [`${a.kind}:${a.name}`, Asset.parse(a)]));
    expect([...byName.keys()].sort()).toEqual(['model:gpt-4o-mini', 'provider:api.openai.com', 'workload:marketing/copybot', 'workload:payments/checkout']);
    expect(byName.get('workload:payments/checkout')).toMatchObject({
      domain: 'agents', governance: 'sanctioned', callCount: 2, firstSeen: '2026-11-20T10:00:00.000Z', lastSeen: '2026-11-20T11:00:00.000Z',
    });
    expect(byName.get('workload:marketing/copybot')?.governance).toBe('tolerated');
    expect(byName.get('provider:api.openai.com')).toMatchObject({ domain: 'llm', governance: 'sanctioned', callCount: 3 });
    expect(byName.get('model:gpt-4o-mini')?.callCount).toBe(3);
  });

  it('builds the session and its replay in time order', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const traced = { userId: 'alice', userSource: 'baggage' as const, traceId: 'a'.repeat(32), parentSpanId: null, sessionId: 'sess-r' };
    const late = llmCall({ ts: '2026-11-20T10:02:00.000Z', attribution: traced, messages: [{ role: 'user', content: 'second' }] });
    const early = llmCall({ ts: '2026-11-20T10:01:00.000Z', attribution: traced, messages: [{ role: 'user', content: 'first [SSN:ab12cd34]' }] });
    await ingestBatch(db, { tenantId, batch: batchOf(late, early) });
    expect(await getSession(db, { tenantId, id: 'sess-r' })).toMatchObject({
      traceId: 'a'.repeat(32), userId: 'alice', namespace: 'payments', app: 'checkout', callCount: 2, verdict: 'allow',
      firstSeen: '2026-11-20T10:01:00.000Z', lastSeen: '2026-11-20T10:02:00.000Z',
    });
    const exchanges = await listSessionExchanges(db, { tenantId, sessionId: 'sess-r' });
    expect(exchanges.map((e) => e.messages[0]?.content)).toEqual(['first [SSN:ab12cd34]', 'second']);
  });

  it('leaves assets, sessions and findings as if its calls had been sent one at a time', async () => {
    const calls = mixedCalls();
    const batched = await createTestTenant(db, sanctioned);
    const single = await createTestTenant(db, sanctioned);
    await ingestBatch(db, { tenantId: batched.tenantId, batch: batchOf(...calls) });
    for (const c of calls) await ingestBatch(db, { tenantId: single.tenantId, batch: batchOf(c) });
    const b = await stateOf(batched.tenantId);
    expect(b.sessions[0]).toMatchObject({ userId: 'carol', callCount: 3, firstSeen: '2026-11-20T10:00:00.000Z' });
    expect(b).toEqual(await stateOf(single.tenantId));
  });
});

/** The test db, counting its transactions: one per stored group. */
function counting(inner: SqlClient): SqlClient & { transactions: number } {
  const c = {
    transactions: 0,
    query: inner.query.bind(inner),
    exec: inner.exec.bind(inner),
    close: inner.close.bind(inner),
    transaction<T>(fn: Parameters<SqlClient['transaction']>[0]): Promise<T> {
      c.transactions += 1;
      return inner.transaction(fn) as Promise<T>;
    },
  };
  return c as SqlClient & { transactions: number };
}

describe('createIngestQueue (group commit)', () => {
  it('stores batches that arrive together as one group and answers each with its own counts', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const counted = counting(db);
    const queue = createIngestQueue(counted);
    const [a, b, c] = [llmCall({ detections: [ssn('aaaa1111')] }), llmCall({ detections: [ssn('bbbb2222')] }), llmCall()];
    const results = await Promise.all([
      queue.submit({ tenantId, batch: batchOf(a, b) }),
      // b again, while the first batch is being stored: stored once, counted a duplicate here
      queue.submit({ tenantId, batch: batchOf(b, c) }),
      queue.submit({ tenantId, batch: batchOf(a, c, c) }),
    ]);
    expect(results).toEqual([{ accepted: 2, duplicates: 0 }, { accepted: 1, duplicates: 1 }, { accepted: 0, duplicates: 3 }]);
    // the first batch alone, the two that waited for it together
    expect(counted.transactions).toBe(2);
    expect(await countLlmCalls(db, { tenantId })).toBe(3);
    const [finding] = await findingsOf(tenantId);
    expect(finding?.count).toBe(2);
  });

  it('leaves assets, sessions and findings as batches stored one by one do', async () => {
    const calls = mixedCalls();
    const grouped = await createTestTenant(db, sanctioned);
    const single = await createTestTenant(db, sanctioned);
    const queue = createIngestQueue(db);
    await Promise.all([...calls, calls[0]!].map((c) => queue.submit({ tenantId: grouped.tenantId, batch: batchOf(c) })));
    for (const c of [...calls, calls[0]!]) await ingestBatch(db, { tenantId: single.tenantId, batch: batchOf(c) });
    const g = await stateOf(grouped.tenantId);
    expect(g.calls).toBe(4);
    expect(g).toEqual(await stateOf(single.tenantId));
  });

  it('fails only the batch the store refuses, after saying the group failed', async () => {
    const { tenantId } = await createTestTenant(db, sanctioned);
    const failures: number[] = [];
    const queue = createIngestQueue(db, { onGroupFailed: (_err, batches) => failures.push(batches) });
    const good = [llmCall(), llmCall(), llmCall()];
    // claimed NUL-free but holding U+0000: Postgres refuses the text, so its transaction fails
    const refused = llmCall({ messages: [{ role: 'user', content: 'a\u0000b' }] });
    const settled = await Promise.allSettled([
      queue.submit({ tenantId, batch: batchOf(good[0]!) }),
      queue.submit({ tenantId, batch: batchOf(good[1]!) }),
      queue.submit({ tenantId, batch: batchOf(refused), nulFree: true }),
      queue.submit({ tenantId, batch: batchOf(good[2]!) }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(failures).toEqual([3]);
    expect(await countLlmCalls(db, { tenantId })).toBe(3);
    // without the claim the same batch is cleaned and stored
    expect(await queue.submit({ tenantId, batch: batchOf(refused) })).toEqual({ accepted: 1, duplicates: 0 });
  });
});
