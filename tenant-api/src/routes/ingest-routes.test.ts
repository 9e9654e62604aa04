import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSessionExchanges } from '../stores/calls-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { buildTestApp, type TestApp } from '../testing/app-fixture.ts';
import { batchOf, createTestTenant, llmCall, openTestDb, type TestTenant } from '../testing/fixtures.ts';

let db: SqlClient;
let tenant: TestTenant;
let t: TestApp;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await createTestTenant(db);
  t = await buildTestApp(db, tenant);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await db?.close();
});

const post = (payload: string) => t.app.inject({
  method: 'POST', url: '/v1/ingest', payload,
  headers: { authorization: `Bearer ${tenant.scannerToken}`, 'content-type': 'application/json' },
});

describe('POST /v1/ingest body parsing', () => {
  it('answers 400 INVALID_BATCH for a body that is not JSON', async () => {
    const res = await post('{"scannerId": "node-1", "events": [');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'INVALID_BATCH', message: 'body is not valid JSON' } });
  });

  it('drops a __proto__ key like any unknown key and stores the batch', async () => {
    const call = llmCall();
    const text = JSON.stringify(batchOf(call)).replace('{"scannerId"', '{"__proto__":{"polluted":true},"scannerId"');
    const res = await post(text);
    expect(res.json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('replaces NUL spelled \\u0000 in the JSON text before storing', async () => {
    const call = llmCall({ messages: [{ role: 'user', content: 'x\u0000y' }] });
    const text = JSON.stringify(batchOf(call));
    expect(text).toContain('\\u0000');
    expect((await post(text)).json()).toEqual({ accepted: 1, duplicates: 0 });
    const exchanges = await listSessionExchanges(db, { tenantId: tenant.tenantId, sessionId: call.attribution.sessionId });
    expect(exchanges.some((e) => e.messages.some((m) => m.content === 'x\uFFFDy'))).toBe(true);
  });
});
