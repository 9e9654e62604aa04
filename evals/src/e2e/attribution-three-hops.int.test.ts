/**
 * Cross-hop attribution end to end, in process on loopback: a user with a JWT
 * calls service A, A calls B through the scanner's proxy with the user's token
 * and a W3C trace, B calls C with the trace only, and C calls OpenAI with the
 * `openai` SDK through the proxy. C's LLM call is attributed to A's user with
 * userSource 'trace', and the attribution tools show it (MCP over Streamable HTTP).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CostReportOutput, ListSessionsOutput, ReplaySessionOutput, UserTrackOutput } from '@higgs/schema';
import { DEMO_WORKLOADS, HOP_WORKLOADS, startStack, startThreeHops, type Stack, type ThreeHops } from '@higgs/demo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../testing/until.ts';


describe('attribution across three hops (A with a user JWT → B → C → LLM)', () => {
  let dir: string;
  let stack: Stack;
  let hops: ThreeHops;
  let mcp: Client;

  const call = async (name: string, args: Record<string, unknown>): Promise<unknown> => {
    const res = await mcp.callTool({ name, arguments: args });
    if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content)}`);
    return res.structuredContent;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'higgs-hops-'));
    stack = await startStack({ dataDir: dir, tenantDataDir: 'memory://', traffic: false, workloads: [...DEMO_WORKLOADS, ...HOP_WORKLOADS] });
    hops = await startThreeHops({ proxyUrl: stack.proxyUrl, caCertPem: stack.scanner.caCertPem });
    mcp = new Client({ name: 'e2e-hops', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${stack.adminToken}` } },
    }));
  }, 60_000);

  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await hops?.close();
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('attributes C\'s LLM call to the user A authenticated, with userSource trace, in the session, the replay and the user\'s track', async () => {
    const res = await fetch(`${hops.frontdoorUrl}/orders/o-1001/summary`, {
      method: 'POST', headers: { authorization: `Bearer ${hops.tokenFor('dana@example.com')}` },
    });
    expect(res.status).toBe(200);
    const { summary, traceId } = await res.json() as { summary: string; traceId: string };
    expect(summary).toBeTruthy();
    expect(hops.llmCalls).toEqual([expect.objectContaining({ traceId })]);
    // the provider saw C's call, once; the A→B hop never went to a provider
    expect(stack.upstreams.count('openai')).toBe(1);

    await stack.scanner.flush();
    const { sessions } = await until('the session of the trace', async () => {
      const out = ListSessionsOutput.parse(await call('list_sessions', { userId: 'dana@example.com' }));
      return out.sessions.length > 0 ? out : undefined;
    });
    expect(sessions).toEqual([expect.objectContaining({
      id: `t-${traceId}`, traceId, userId: 'dana@example.com', userSource: 'trace', namespace: 'orders', app: 'summariser', callCount: 1,
    })]);

    const replay = ReplaySessionOutput.parse(await call('replay_session', { sessionId: `t-${traceId}` }));
    expect(replay.exchanges).toHaveLength(1);
    expect(replay.exchanges[0]!.messages[0]!.content).toContain('order o-1001');
    expect(replay.exchanges[0]!.response).toBe(summary);

    const track = UserTrackOutput.parse(await call('user_track', { userId: 'dana@example.com' }));
    // findings raised on the call (the summariser is a new workload) name her too; the calls are what we check here
    expect(track.events.filter((e) => e.kind === 'llm_call')).toEqual([expect.objectContaining({
      kind: 'llm_call', sessionId: `t-${traceId}`, userSource: 'trace', app: 'summariser', provider: 'openai', model: 'gpt-4o-mini',
    })]);

    const cost = CostReportOutput.parse(await call('cost_report', { by: 'user' }));
    const dana = cost.rows.find((r) => r.key === 'dana@example.com');
    expect(dana).toMatchObject({ calls: 1, unpricedCalls: 0 });
    expect(dana!.costUsd).toBeGreaterThan(0);
  }, 60_000);

  it('leaves a call unattributed when no hop of its trace carried a user, and A refuses a forged token', async () => {
    const forged = hops.tokenFor('dana@example.com').replace(/\.[^.]+$/, '.AAAA');
    const refused = await fetch(`${hops.frontdoorUrl}/orders/o-1/summary`, { method: 'POST', headers: { authorization: `Bearer ${forged}` } });
    expect(refused.status).toBe(401);

    // B called directly, inside a trace nobody authenticated
    const traceId = 'f'.repeat(31) + '7';
    const res = await fetch(`${hops.ordersUrl}/orders/o-2`, { headers: { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` } });
    expect(res.status).toBe(200);
    await stack.scanner.flush();
    const replay = await until('the unattributed session', async () => {
      const r = await mcp.callTool({ name: 'replay_session', arguments: { sessionId: `t-${traceId}` } });
      return r.isError ? undefined : ReplaySessionOutput.parse(r.structuredContent);
    });
    expect(replay.session).toMatchObject({ traceId, userId: null, userSource: null, app: 'summariser' });
    const track = UserTrackOutput.parse(await call('user_track', { userId: 'dana@example.com' }));
    expect(track.events.filter((e) => e.kind === 'llm_call')).toHaveLength(1);
  }, 60_000);
});
