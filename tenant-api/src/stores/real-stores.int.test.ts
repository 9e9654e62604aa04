import { requireOrSkip } from '@higgs/evals/testing';
import { BriefingSummaryOutput, GetAssetOutput, ReplaySessionOutput, TopologyOutput } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from '../tenant.ts';
import { batchOf, eventId, llmCall } from '../testing/fixtures.ts';
import { assetId } from '../registry/asset-registry.ts';
import { clickhouseMissing, postgresMissing, startClickhouse, startPostgres, type RunningServer } from '../testing/servers.ts';
import { openClickhouse } from './clickhouse/query.ts';
import { openPostgres } from './postgres/index.ts';

const available = requireOrSkip('SERVICES', clickhouseMissing() ?? postgresMissing());

describe.runIf(available)('a tenant on PostgreSQL and ClickHouse (HIGGS_POSTGRES_URL, HIGGS_CLICKHOUSE_URL)', () => {
  let pg: RunningServer;
  let ch: RunningServer;
  let tenant: Tenant;
  beforeAll(async () => {
    [pg, ch] = await Promise.all([startPostgres(), startClickhouse()]);
    tenant = await createTenant({
      // memory://: no local directory at all (the state is on PostgreSQL; ClickHouse's outbox in memory)
      port: 0, dataDir: 'memory://', uiDir: '/nonexistent-higgs-ui', postgresUrl: pg.url, clickhouseUrl: ch.url,
      baseline: { namespaces: ['payments'], providers: ['openai'] },
    });
  }, 120_000);
  afterAll(async () => {
    await tenant?.close();
    await Promise.all([pg?.stop(), ch?.stop()]);
  });

  const post = (path: string, token: string | null, body: unknown) => fetch(`${tenant.url}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  it('ingests into ClickHouse, keeps state in Postgres, and serves both through the tools', async () => {
    const session = { ...llmCall().attribution, sessionId: 'sess-real' };
    const first = llmCall({ ts: '2026-11-20T10:00:00.000Z', attribution: session, detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] });
    const second = llmCall({ ts: '2026-11-20T10:00:01.000Z', attribution: session });
    expect(await (await post('/v1/ingest', tenant.scannerToken, batchOf(second, first))).json()).toEqual({ accepted: 2, duplicates: 0 });
    expect(await (await post('/v1/ingest', tenant.scannerToken, batchOf(first))).json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(await (await fetch(`${tenant.url}/healthz`)).json()).toEqual({ ok: true, telemetryHeld: 0 });

    const briefing = BriefingSummaryOutput.parse(await (await post('/api/tools/briefing_summary', tenant.adminToken, {})).json());
    expect(briefing.counts).toMatchObject({ calls: 2, sessions: 1, openFindings: 1 });
    const replay = ReplaySessionOutput.parse(await (await post('/api/tools/replay_session', tenant.adminToken, { sessionId: 'sess-real' })).json());
    expect(replay.exchanges.map((e) => e.callId)).toEqual([first.id, second.id]);

    // the events are in ClickHouse, not in the Postgres telemetry tables; the findings are in Postgres
    const clickhouse = openClickhouse(ch.url);
    const postgres = await openPostgres(pg.url, { maxConnections: 1 });
    try {
      const inClickhouse = await clickhouse.query<{ n: string }>({ tag: 'test', sql: 'SELECT count() AS n FROM llm_calls WHERE tenant_id = {t}', params: { t: 'default' } });
      expect(Number(inClickhouse[0]?.n)).toBe(2);
      expect((await postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM llm_calls')).rows[0]?.n).toBe(0);
      expect((await postgres.query<{ n: number }>(`SELECT count(*)::int AS n FROM findings WHERE tenant_id = 'default'`)).rows[0]?.n).toBe(1);
    } finally {
      await clickhouse.close();
      await postgres.close();
    }
  });

  it('stores flows in ClickHouse and turns them and MCP tool calls into assets, findings and edges in Postgres', async () => {
    const source = { ip: '10.0.0.9', namespace: 'research', app: 'notebook', mode: null };
    const attribution = { userId: 'dana', userSource: 'header' as const, traceId: null, parentSpanId: null, sessionId: 'sess-flow' };
    const flow = {
      id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', pid: 7, comm: 'python', cgroupId: '99', srcIp: '10.0.0.9', srcPort: 41000,
      dstIp: '104.18.2.2', dstPort: 443, dstHost: 'api.together.xyz', provider: 'together', state: 'established', source,
    };
    const tool = {
      id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:01.000Z', durationMs: 3, host: 'mcp.research.svc', method: 'tools/call',
      toolName: 'run_sql', input: '{}', output: null, isError: false, source, attribution, detections: [], verdict: 'allow', ruleIds: [],
      authenticated: false,
    };
    const batch = { scannerId: 'node-1', events: [{ kind: 'flow', event: flow }, { kind: 'tool_call', event: tool }, { kind: 'flow', event: flow }] };
    expect(await (await post('/v1/ingest', tenant.scannerToken, batch)).json()).toEqual({ accepted: 2, duplicates: 1 });

    const together = assetId('llm', 'provider', 'api.together.xyz');
    const got = GetAssetOutput.parse(await (await post('/api/tools/get_asset', tenant.adminToken, { id: together })).json());
    expect(got.asset).toMatchObject({ governance: 'unsanctioned', callCount: 0 });
    const notebook = assetId('agents', 'workload', 'research/notebook');
    const topo = TopologyOutput.parse(await (await post('/api/tools/topology', tenant.adminToken, { namespace: 'research' })).json());
    expect(topo.edges.map((e) => `${e.kind}:${e.from === notebook}`).sort()).toEqual(['flow:true', 'mcp:true', 'tool:false']);
    const server = GetAssetOutput.parse(await (await post('/api/tools/get_asset', tenant.adminToken, { id: assetId('mcp', 'mcp_server', 'mcp.research.svc') })).json());
    expect(server.findings.map((f) => f.detector)).toEqual(['auth.unauthenticated']);

    const clickhouse = openClickhouse(ch.url);
    const postgres = await openPostgres(pg.url, { maxConnections: 1 });
    try {
      const flows = await clickhouse.query<{ n: string }>({ tag: 'test', sql: 'SELECT count() AS n FROM network_flows WHERE tenant_id = {t}', params: { t: 'default' } });
      expect(Number(flows[0]?.n)).toBe(1);
      expect((await postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM network_flows')).rows[0]?.n).toBe(0);
      const shadow = await postgres.query<{ detector: string }>(`SELECT detector FROM findings WHERE tenant_id = 'default' AND asset_id = $1 ORDER BY detector`, [notebook]);
      expect(shadow.rows.map((r) => r.detector)).toEqual(['shadow.mcp.mcp.research.svc', 'shadow.network.api.together.xyz']);
    } finally {
      await clickhouse.close();
      await postgres.close();
    }
  });
});
