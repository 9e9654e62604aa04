/**
 * The walking skeleton, end to end, in process on loopback: a real `openai` SDK
 * call carrying an SSN goes through the scanner's proxy, the PII finding is found
 * through an MCP SDK client over Streamable HTTP, the agent explains it and
 * proposes the block, a human approves, and the next call is blocked before the
 * provider sees it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ChatEvent, GetFindingOutput, ListFindingsOutput, ListRulesOutput, ApproveActionOutput, type Proposal,
} from '@higgs/schema';
import { DEMO_WORKLOADS, createSdkClients, startStack, type SdkClients, type Stack } from '@higgs/demo';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../testing/until.ts';

const SSN = '536-22-8841';
const supportBot = DEMO_WORKLOADS.find((w) => w.app === 'support-bot')!;
const traceId = () => randomBytes(16).toString('hex');
const headersFor = (user: string) => ({ traceparent: `00-${traceId()}-${randomBytes(8).toString('hex')}-01`, baggage: `user.id=${user}` });


async function callTool(mcp: Client, name: string, args: Record<string, unknown>): Promise<unknown> {
  const res = await mcp.callTool({ name, arguments: args });
  if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content)}`);
  return res.structuredContent;
}

describe('walking skeleton: observe → finding → agent → approve → block', () => {
  let dir: string;
  let stack: Stack;
  let clients: SdkClients;
  let mcp: Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'higgs-e2e-'));
    stack = await startStack({ dataDir: dir, tenantDataDir: 'memory://', traffic: false });
    clients = createSdkClients({ proxyUrl: stack.proxyUrl, caCertPem: stack.scanner.caCertPem, localAddress: supportBot.ip });
    mcp = new Client({ name: 'e2e', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${stack.adminToken}` } },
    }));
  });

  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await clients?.close();
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('observes the call, finds the PII, explains it, and blocks the next one after approval', async () => {
    // 1. A real SDK call with an SSN passes (no rule yet) and reaches the provider.
    const first = await clients.openai.chat.completions.create(
      { model: supportBot.model, messages: [{ role: 'user', content: `Please update my account, my SSN is ${SSN}.` }] },
      { headers: headersFor('alice@example.com') },
    );
    expect(first.choices[0]?.message.content).toBeTruthy();
    expect(stack.upstreams.count('openai')).toBe(1);
    const received = JSON.stringify(stack.upstreams.received[0]?.body);
    expect(received).toContain(SSN); // observe first: nothing altered without a rule

    // 2. The PII finding, through an MCP client over Streamable HTTP.
    await stack.scanner.flush();
    const { findings } = await until('the pii finding', async () => {
      const out = ListFindingsOutput.parse(await callTool(mcp, 'list_findings', { category: 'pii' }));
      return out.findings.some((f) => f.evidence.piiType === 'ssn') ? out : undefined;
    });
    const finding = findings.find((f) => f.evidence.piiType === 'ssn')!;
    expect(finding.evidence).toMatchObject({ provider: 'openai', model: supportBot.model, namespace: 'support', app: 'support-bot' });
    expect(finding.evidence.users).toContain('alice@example.com');
    // the raw SSN is never stored: only its hash
    expect(JSON.stringify(finding)).not.toContain(SSN);
    const detail = GetFindingOutput.parse(await callTool(mcp, 'get_finding', { id: finding.id }));
    expect(detail.suggestedAction?.label).toBe('Block PII egress');
    expect(detail.obligations.length).toBeGreaterThan(0);

    // 3. The agent explains it, grounded in the finding, and proposes the block.
    const res = await fetch(`${stack.tenantUrl}/api/agent/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'why does this finding matter?', context: { findingId: finding.id } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const events = (await res.text()).trim().split('\n').map((l) => ChatEvent.parse(JSON.parse(l)));
    const answer = events.flatMap((e) => (e.type === 'text' ? [e.delta] : [])).join('');
    for (const fact of ['ssn', 'openai', supportBot.model, 'support-bot', 'alice@example.com', String(finding.count)]) {
      expect(answer.toLowerCase()).toContain(fact.toLowerCase());
    }
    expect(answer).toContain(detail.obligations[0]!.framework);
    const proposal = events.flatMap((e) => (e.type === 'proposal' ? [e.proposal] : []))[0] as Proposal | undefined;
    expect(proposal).toMatchObject({ status: 'pending', tool: 'block_from_finding', proposedBy: 'agent' });
    expect(events.at(-1)?.type).toBe('done');

    // The agent can only propose: no rule exists until a human approves.
    expect(ListRulesOutput.parse(await callTool(mcp, 'list_rules', {})).rules).toHaveLength(0);

    // 4. The human approves exactly what was shown; the rule becomes active.
    const approved = ApproveActionOutput.parse(
      await callTool(mcp, 'approve_action', { proposalId: proposal!.id, argsHash: proposal!.argsHash }),
    );
    expect(approved.proposal.status).toBe('approved');
    const rules = ListRulesOutput.parse(await callTool(mcp, 'list_rules', {})).rules;
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ action: 'block', enabled: true, sourceFindingId: finding.id, match: { piiTypes: ['ssn'] } });
    await stack.scanner.waitForPolicy((p) => p.rules.some((r) => r.id === rules[0]!.id), 10_000);

    // 5. The next matching call is blocked by the scanner: the SDK raises a
    //    provider-shaped 403 and the provider never receives the call.
    const blocked = await clients.openai.chat.completions.create(
      { model: supportBot.model, messages: [{ role: 'user', content: `Second try, SSN ${SSN}` }] },
      { headers: headersFor('alice@example.com') },
    ).then(() => null, (err: unknown) => err);
    expect(blocked).toBeInstanceOf(OpenAI.APIError);
    const apiErr = blocked as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(403);
    expect(apiErr.code).toBe('higgs_blocked');
    expect(stack.upstreams.count('openai')).toBe(1);

    // A call without PII from the same workload still goes through.
    await clients.openai.chat.completions.create(
      { model: supportBot.model, messages: [{ role: 'user', content: 'What are your opening hours?' }] },
      { headers: headersFor('alice@example.com') },
    );
    expect(stack.upstreams.count('openai')).toBe(2);
  });
});
