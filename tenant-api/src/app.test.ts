import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError, BriefingSummaryOutput, ChatEvent, IngestResult, ListFindingsOutput, RuleOutput, ScannerPolicy,
} from '@higgs/schema';
import { hashToken } from './auth/tokens.ts';
import { countLlmCalls } from './stores/calls-repository.ts';
import { insertToken, upsertPrincipal } from './stores/principals-repository.ts';
import type { SqlClient } from './stores/sql-client.ts';
import { buildTestApp, type TestApp } from './testing/app-fixture.ts';
import { batchOf, createTestTenant, llmCall, openTestDb, type TestTenant } from './testing/fixtures.ts';

let db: SqlClient;
let main: TestTenant;
let t: TestApp;
beforeAll(async () => {
  db = await openTestDb();
  main = await createTestTenant(db, { namespaces: ['payments'], providers: ['openai'] });
  t = await buildTestApp(db, main);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await db?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ssnCall = () => llmCall({ detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] });

async function ingest(token: string, body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/v1/ingest', headers: { ...bearer(token), ...headers }, payload: body as object });
}

async function tool(token: string, name: string, args: unknown = {}) {
  return t.app.inject({ method: 'POST', url: `/api/tools/${name}`, headers: bearer(token), payload: args as object });
}

describe('auth', () => {
  it('answers 401 without or with an unknown token', async () => {
    for (const headers of [{}, { authorization: 'Bearer hgs_not_a_real_token_at_all' }, { authorization: 'Basic abc' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/tools/briefing_summary', headers, payload: {} });
      expect(res.statusCode).toBe(401);
      expect(ApiError.parse(res.json()).error.code).toBe('UNAUTHENTICATED');
    }
    expect((await t.app.inject({ method: 'POST', url: '/v1/ingest', payload: batchOf(llmCall()) })).statusCode).toBe(401);
  });

  it('keeps scanner tokens on /v1 and people on /api and /mcp', async () => {
    const scannerOnApi = await tool(main.scannerToken, 'briefing_summary');
    expect(scannerOnApi.statusCode).toBe(403);
    expect(scannerOnApi.json().error.code).toBe('WRONG_TOKEN_KIND');
    const scannerOnMcp = await t.app.inject({ method: 'POST', url: '/mcp', headers: bearer(main.scannerToken), payload: {} });
    expect(scannerOnMcp.statusCode).toBe(403);
    const adminOnIngest = await ingest(main.adminToken, batchOf(llmCall()));
    expect(adminOnIngest.statusCode).toBe(403);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(main.adminToken) });
    expect(me.json()).toEqual(main.admin);
  });
});

describe('POST /v1/ingest', () => {
  it('refuses a malformed batch naming the field, and stores none of it', async () => {
    const tenant = await createTestTenant(db);
    const bad = batchOf(llmCall(), llmCall({ ts: 'yesterday' }));
    const res = await ingest(tenant.scannerToken, bad);
    expect(res.statusCode).toBe(400);
    const { error } = ApiError.parse(res.json());
    expect(error.code).toBe('INVALID_BATCH');
    expect(error.message).toContain('events[1].event.ts');
    expect(await countLlmCalls(db, { tenantId: tenant.tenantId })).toBe(0);
  });

  it('accepts gzip bodies and stores a re-sent event once', async () => {
    const tenant = await createTestTenant(db);
    const batch = batchOf(ssnCall(), llmCall());
    const first = await ingest(tenant.scannerToken, gzipSync(JSON.stringify(batch)), { 'content-encoding': 'gzip', 'content-type': 'application/json' });
    expect(first.statusCode).toBe(200);
    expect(IngestResult.parse(first.json())).toEqual({ accepted: 2, duplicates: 0 });
    const again = await ingest(tenant.scannerToken, batch);
    expect(again.json()).toEqual({ accepted: 0, duplicates: 2 });
    expect(await countLlmCalls(db, { tenantId: tenant.tenantId })).toBe(2);
  });

  it('refuses a body over the limit with 413', async () => {
    const tenant = await createTestTenant(db);
    const huge = batchOf(llmCall({ messages: [{ role: 'user', content: 'x'.repeat(11 * 1024 * 1024) }] }));
    const res = await ingest(tenant.scannerToken, huge);
    expect(res.statusCode).toBe(413);
    expect(ApiError.parse(res.json()).error.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
  });
});

describe('GET /v1/scanners/:id/policy', () => {
  it('answers 304 for a current ETag and 200 as soon as the policy changes', async () => {
    const tenant = await createTestTenant(db);
    const url = '/v1/scanners/node-1/policy';
    const first = await t.app.inject({ method: 'GET', url, headers: bearer(tenant.scannerToken) });
    expect(first.statusCode).toBe(200);
    const policy = ScannerPolicy.parse(first.json());
    expect(policy).toEqual({ version: '0', rules: [], quarantinedNamespaces: [], blockedSessions: [] });
    expect(first.headers.etag).toBe('"0"');

    const unchanged = await t.app.inject({ method: 'GET', url, headers: { ...bearer(tenant.scannerToken), 'if-none-match': '"0"' } });
    expect(unchanged.statusCode).toBe(304);

    const started = Date.now();
    const held = t.app.inject({ method: 'GET', url: `${url}?wait_ms=20000`, headers: { ...bearer(tenant.scannerToken), 'if-none-match': '"0"' } });
    await new Promise((r) => setTimeout(r, 150));
    const added = await tool(tenant.adminToken, 'add_inline_rule', { name: 'no ssn', action: 'block', match: { piiTypes: ['ssn'] } });
    expect(added.statusCode).toBe(200);
    const changed = await held;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(changed.statusCode).toBe(200);
    const next = ScannerPolicy.parse(changed.json());
    expect(next.version).toBe('1');
    expect(next.rules.map((r) => r.name)).toEqual(['no ssn']);
  });

  it('answers 304 when nothing changes within wait_ms', async () => {
    const tenant = await createTestTenant(db);
    const started = Date.now();
    const res = await t.app.inject({
      method: 'GET', url: '/v1/scanners/node-1/policy?wait_ms=300', headers: { ...bearer(tenant.scannerToken), 'if-none-match': '"0"' },
    });
    expect(res.statusCode).toBe(304);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('refuses a wait over 30 s', async () => {
    const tenant = await createTestTenant(db);
    const res = await t.app.inject({ method: 'GET', url: '/v1/scanners/n/policy?wait_ms=60000', headers: bearer(tenant.scannerToken) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });
});

describe('/api/tools', () => {
  it('lists the tools with their roles', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/tools', headers: bearer(main.adminToken) });
    const names = (res.json() as { tools: { name: string; role: string }[] }).tools.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['briefing_summary', 'block_from_finding', 'approve_action']));
  });

  it('lets the agent and a viewer read and propose, never act', async () => {
    const tenant = await createTestTenant(db);
    await ingest(tenant.scannerToken, batchOf(ssnCall()));
    const viewerToken = `hgs_viewer_${tenant.tenantId}_token`;
    const agentToken = `hgs_agent_${tenant.tenantId}_token`;
    await upsertPrincipal(db, { tenantId: tenant.tenantId, principal: { id: 'vic', name: 'Vic', kind: 'human', role: 'viewer' } });
    await insertToken(db, { tenantId: tenant.tenantId, principalId: 'vic', tokenHash: hashToken(viewerToken) });
    await insertToken(db, { tenantId: tenant.tenantId, principalId: 'agent', tokenHash: hashToken(agentToken) });
    const finding = ListFindingsOutput.parse((await tool(viewerToken, 'list_findings')).json()).findings.find((f) => f.detector === 'pii.ssn');
    for (const token of [viewerToken, agentToken]) {
      const res = await tool(token, 'block_from_finding', { findingId: finding?.id });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
    }
    const proposed = await tool(agentToken, 'propose_action', {
      tool: 'block_from_finding', args: { findingId: finding?.id }, title: 'Block SSN', rationale: 'critical PII',
    });
    expect(proposed.statusCode).toBe(200);
    // the refused calls changed nothing
    expect((await tool(tenant.adminToken, 'list_rules')).json()).toEqual({ rules: [] });
    expect(RuleOutput.safeParse((await tool(tenant.adminToken, 'block_from_finding', { findingId: finding?.id })).json()).success).toBe(true);
  });

  it('maps tool errors to HTTP statuses', async () => {
    expect((await tool(main.adminToken, 'no_such_tool')).statusCode).toBe(404);
    const invalid = await tool(main.adminToken, 'list_findings', { limit: 'many' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('INVALID_INPUT');
    const missing = await tool(main.adminToken, 'get_finding', { id: 'fnd_nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  it('runs the walking skeleton: observe, propose, approve, enforce', async () => {
    // the agent is bound to one tenant's agent principal: this runs on that tenant
    const tenant = main;
    expect((await ingest(tenant.scannerToken, batchOf(ssnCall()))).statusCode).toBe(200);

    const briefing = BriefingSummaryOutput.parse((await tool(tenant.adminToken, 'briefing_summary')).json());
    const top = briefing.needsDecision[0];
    expect(top?.finding.detector).toBe('pii.ssn');
    expect(top?.suggestedAction?.tool).toBe('block_from_finding');

    // the agent explains and proposes; it cannot act
    const chat = await t.app.inject({
      method: 'POST', url: '/api/agent/chat', headers: bearer(main.adminToken),
      payload: { message: 'block it', context: { findingId: top?.finding.id } },
    });
    const events = chat.body.trim().split('\n').map((line) => ChatEvent.parse(JSON.parse(line)));
    const proposalEvent = events.find((e) => e.type === 'proposal');
    if (proposalEvent?.type !== 'proposal') throw new Error(`no proposal in ${chat.body}`);
    const { proposal } = proposalEvent;
    expect(proposal).toMatchObject({ tool: 'block_from_finding', status: 'pending', proposedBy: 'agent' });
    const approved = await tool(tenant.adminToken, 'approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash });
    expect(approved.statusCode).toBe(200);

    const policy = ScannerPolicy.parse((await t.app.inject({
      method: 'GET', url: '/v1/scanners/node-1/policy', headers: bearer(tenant.scannerToken),
    })).json());
    expect(policy.rules.map((r) => r.match)).toEqual([{ piiTypes: ['ssn'] }]);
    const findings = ListFindingsOutput.parse((await tool(tenant.adminToken, 'list_findings', { status: 'open' })).json());
    expect(findings.findings.map((f) => f.id)).not.toContain(top?.finding.id);
  });

  it("shows a token only its own tenant's findings", async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    await ingest(a.scannerToken, batchOf(ssnCall()));
    const aFindings = ListFindingsOutput.parse((await tool(a.adminToken, 'list_findings')).json()).findings;
    const bFindings = ListFindingsOutput.parse((await tool(b.adminToken, 'list_findings')).json()).findings;
    expect(aFindings.length).toBeGreaterThan(0);
    expect(bFindings).toEqual([]);
    const blocked = await tool(b.adminToken, 'block_from_finding', { findingId: aFindings[0]?.id });
    expect(blocked.statusCode).toBe(404);
    expect(RuleOutput.safeParse(blocked.json()).success).toBe(false);
  });
});

describe('POST /api/agent/chat', () => {
  it('streams NDJSON chat events ending with done', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/api/agent/chat', headers: bearer(main.adminToken), payload: { message: 'summarize my shadow AI' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const events = res.body.trim().split('\n').map((line) => ChatEvent.parse(JSON.parse(line)));
    expect(events[0]?.type).toBe('start');
    expect(events.at(-1)?.type).toMatch(/^(done|error)$/);
  });

  it('refuses an invalid chat request', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/agent/chat', headers: bearer(main.adminToken), payload: { message: '' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });
});

describe('UI', () => {
  it('explains how to build the UI when it is missing', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build -w @higgs/ui');
    expect((await t.app.inject({ method: 'GET', url: '/api/nothing' })).json().error.code).toBe('NOT_FOUND');
  });

  it('serves the built UI with an SPA fallback', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'higgs-ui-'));
    try {
      await writeFile(join(dir, 'index.html'), '<!doctype html><title>Higgs</title>');
      await writeFile(join(dir, 'app.js'), 'console.log(1)');
      const built = await buildTestApp(db, main, dir);
      try {
        expect((await built.app.inject({ method: 'GET', url: '/' })).body).toContain('<title>Higgs</title>');
        expect((await built.app.inject({ method: 'GET', url: '/app.js' })).body).toBe('console.log(1)');
        const deep = await built.app.inject({ method: 'GET', url: '/findings/fnd_1', headers: { accept: 'text/html' } });
        expect(deep.statusCode).toBe(200);
        expect(deep.body).toContain('<title>Higgs</title>');
        expect((await built.app.inject({ method: 'GET', url: '/api/nothing' })).statusCode).toBe(404);
      } finally {
        await built.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /healthz', () => {
  it('answers ok', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
  });
});

describe('shutdown', () => {
  it('answers held policy polls with 304 when the app closes', async () => {
    const tenant = await createTestTenant(db);
    const own = await buildTestApp(db, tenant);
    const started = Date.now();
    const held = own.app.inject({
      method: 'GET', url: '/v1/scanners/n/policy?wait_ms=20000', headers: { ...bearer(tenant.scannerToken), 'if-none-match': '"0"' },
    });
    await new Promise((r) => setTimeout(r, 100));
    await own.close();
    expect((await held).statusCode).toBe(304);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
