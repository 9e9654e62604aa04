import { requireOrSkip } from '@higgs/evals/testing';
import { BriefingSummaryOutput, ReplaySessionOutput } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from '../tenant.ts';
import { batchOf, llmCall } from '../testing/fixtures.ts';
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
      port: 0, uiDir: '/nonexistent-higgs-ui', postgresUrl: pg.url, clickhouseUrl: ch.url,
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
});
