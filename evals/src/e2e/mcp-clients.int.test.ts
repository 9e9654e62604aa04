/**
 * Every tool of the registry through two independent MCP clients — the
 * SDK's `Client` and the MCP Inspector CLI — over both transports: stdio (the
 * `higgs-mcp` bin an IDE starts) and Streamable HTTP at `/mcp`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { ChatEvent, ToolContracts, type Finding, type Proposal, type ToolName, type ToolOutput } from '@higgs/schema';
import { DEMO_WORKLOADS, createSdkClients, startStack, type Stack } from '@higgs/demo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const STDIO_BIN = ['tsx', join(ROOT, 'tools', 'bin', 'higgs-mcp.ts')];
const supportBot = DEMO_WORKLOADS.find((w) => w.app === 'support-bot')!;

let dir: string;
let stack: Stack;

/** One finding per PII type, so each client gets a finding of its own to act on. */
async function findingOf(piiType: string): Promise<Finding> {
  const res = await fetch(`${stack.tenantUrl}/api/tools/list_findings`, {
    method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ category: 'pii' }),
  });
  const { findings } = ToolContracts.list_findings.output.parse(await res.json());
  const f = findings.find((x) => x.evidence.piiType === piiType);
  if (!f) throw new Error(`no ${piiType} finding`);
  return f;
}

/** The agent proposes the finding's block (the agent is the only other principal that can propose). */
async function agentProposal(findingId: string): Promise<Proposal> {
  const res = await fetch(`${stack.tenantUrl}/api/agent/chat`, {
    method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'what should I do?', context: { findingId } }),
  });
  const events = (await res.text()).trim().split('\n').map((l) => ChatEvent.parse(JSON.parse(l)));
  const p = events.flatMap((e) => (e.type === 'proposal' ? [e.proposal] : []))[0];
  if (!p) throw new Error(`the agent proposed nothing: ${JSON.stringify(events)}`);
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'higgs-mcp-'));
  stack = await startStack({ dataDir: dir, tenantDataDir: 'memory://', traffic: false });
  const clients = createSdkClients({ proxyUrl: stack.proxyUrl, caCertPem: stack.scanner.caCertPem, localAddress: supportBot.ip });
  try {
    for (const content of ['My SSN is 536-22-8841', 'Card 4539 1488 0343 6467 was charged twice', 'Reach me at dana.lee@example.org']) {
      await clients.openai.chat.completions.create(
        { model: supportBot.model, messages: [{ role: 'user', content }] },
        { headers: { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`, baggage: 'user.id=dana' } },
      );
    }
  } finally {
    await clients.close();
  }
  await stack.scanner.flush();
  for (const t of ['ssn', 'credit_card', 'email']) {
    for (let i = 0; ; i++) {
      try {
        await findingOf(t);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
});

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

type Call = (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Drives every skeleton tool through one client; `label` keeps names unique per client. */
async function exerciseTools(call: Call, label: string, piiType: string): Promise<void> {
  const parse = <N extends ToolName>(name: N, out: unknown): ToolOutput<N> => ToolContracts[name].output.parse(out) as ToolOutput<N>;

  const { findings } = parse('list_findings', await call('list_findings', { category: 'pii' }));
  const finding = findings.find((f) => f.evidence.piiType === piiType)!;
  expect(finding).toBeDefined();
  const detail = parse('get_finding', await call('get_finding', { id: finding.id }));
  expect(detail.finding.id).toBe(finding.id);

  const replay = parse('replay_session', await call('replay_session', { sessionId: finding.evidence.sessionIds[0]! }));
  expect(replay.exchanges.length).toBeGreaterThan(0);
  expect(JSON.stringify(replay)).not.toMatch(/536-22-8841|4539 1488 0343 6467|dana\.lee@example\.org/);

  const assets = parse('list_assets', await call('list_assets', {}));
  expect(assets.assets.map((a) => a.name)).toEqual(expect.arrayContaining(['support/support-bot']));

  const rule = parse('add_inline_rule', await call('add_inline_rule', {
    name: `alert on ${label}`, action: 'alert', match: { promptContains: [`${label}-marker`] }, reason: 'mcp client test',
  }));
  expect(rule.rule).toMatchObject({ action: 'alert', enabled: true });

  const q = parse('quarantine_namespace', await call('quarantine_namespace', { namespace: `quarantine-${label}`, reason: 'mcp client test' }));
  expect(q.quarantine).toMatchObject({ namespace: `quarantine-${label}`, active: true });

  const own = parse('propose_action', await call('propose_action', {
    tool: 'add_inline_rule', args: { name: `proposed by ${label}`, action: 'alert', match: { models: ['gpt-4o'] } },
    title: 'Alert on gpt-4o', rationale: 'mcp client test',
  }));
  expect(own.proposal.status).toBe('pending');
  const rejected = parse('reject_action', await call('reject_action', { proposalId: own.proposal.id, reason: 'withdrawn' }));
  expect(rejected.proposal.status).toBe('rejected');

  const proposal = await agentProposal(finding.id);
  const approved = parse('approve_action', await call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }));
  expect(approved.proposal.status).toBe('approved');

  const to = new Date(Date.now() + 60_000).toISOString();
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const pack = parse('generate_compliance_pack', await call('generate_compliance_pack', { from, to }));
  expect(pack.pack.calls.total).toBeGreaterThanOrEqual(3);
  expect(pack.pack.piiFlows.map((f) => f.piiType)).toEqual(expect.arrayContaining(['ssn', 'credit_card', 'email']));
  expect(pack.pack.audit.length).toBeGreaterThan(0);

  // the rest of the tool set: findings, attribution, kernel, knowledge, audit and principals
  const asset = parse('get_asset', await call('get_asset', { id: finding.assetId }));
  expect(asset.asset.id).toBe(finding.assetId);
  const risk = parse('explain_risk_score', await call('explain_risk_score', { assetId: finding.assetId }));
  expect(risk.risk.findingsCounted).toBeGreaterThan(0);
  expect(parse('topology', await call('topology', {})).edges.length).toBeGreaterThan(0);
  const sessionId = finding.evidence.sessionIds[0]!;
  const sessions = parse('list_sessions', await call('list_sessions', { userId: 'dana' }));
  expect(sessions.sessions.map((x) => x.id)).toContain(sessionId);
  expect(parse('user_track', await call('user_track', { userId: 'dana' })).events.length).toBeGreaterThan(0);
  expect(parse('data_tracks', await call('data_tracks', {})).flows.map((f) => f.piiType)).toContain(piiType);
  expect(parse('cost_report', await call('cost_report', { by: 'user' })).total.calls).toBeGreaterThanOrEqual(3);

  const governed = parse('set_governance_state', await call('set_governance_state', {
    assetId: finding.assetId, state: 'sanctioned', reason: `reviewed via ${label}`,
  }));
  expect(governed.asset.governance).toBe('sanctioned');
  const acked = parse('update_finding_status', await call('update_finding_status', {
    findingId: finding.id, status: 'acknowledged', reason: `seen via ${label}`,
  }));
  expect(acked.finding.status).toBe('acknowledged');
  expect(parse('disable_rule', await call('disable_rule', { ruleId: rule.rule.id, reason: 'mcp client test' })).rule.enabled).toBe(false);
  expect(parse('list_quarantines', await call('list_quarantines', {})).quarantines.map((x) => x.namespace)).toContain(`quarantine-${label}`);
  const released = parse('release_quarantine', await call('release_quarantine', { namespace: `quarantine-${label}`, reason: 'done' }));
  expect(released.quarantine.active).toBe(false);
  const killed = parse('kill_session', await call('kill_session', { sessionId: `kill-${label}-${sessionId}`.slice(0, 128), reason: 'mcp test' }));
  expect(killed.kill.killedBy).toBeTruthy();

  const knowledge = parse('search_knowledge', await call('search_knowledge', { query: 'how do I remediate PII sent to a provider' }));
  expect(knowledge.chunks.length).toBeGreaterThan(0);
  const audit = parse('audit_log', await call('audit_log', { action: 'disable_rule' }));
  expect(audit.records.map((r) => r.target)).toContain(rule.rule.id);
  expect(parse('verify_audit_chain', await call('verify_audit_chain', {}))).toMatchObject({ ok: true, firstBreak: null });

  const person = `ide-${label}`;
  parse('create_principal', await call('create_principal', { id: person, name: `IDE ${label}`, role: 'viewer' }));
  const issued = parse('issue_token', await call('issue_token', { principalId: person, label: 'laptop' }));
  expect(parse('list_principals', await call('list_principals', {})).principals.map((x) => x.id)).toContain(person);
  parse('revoke_token', await call('revoke_token', { tokenId: issued.info.id, reason: 'test over' }));
  const refused = await fetch(`${stack.tenantUrl}/api/tools/briefing_summary`, {
    method: 'POST', headers: { authorization: `Bearer ${issued.token}`, 'content-type': 'application/json' }, body: '{}',
  });
  expect(refused.status).toBe(401);
}

describe.each([
  ['stdio', (): Transport => new StdioClientTransport({
    command: 'npx', args: STDIO_BIN, cwd: ROOT, stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HIGGS_URL: stack.tenantUrl, HIGGS_TOKEN: stack.adminToken },
  }), 'ssn'],
  ['streamable-http', (): Transport => new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${stack.adminToken}` } },
  }), 'credit_card'],
] as const)('MCP SDK client over %s', (label, transport, piiType) => {
  it('lists every tool typed and runs each one', async () => {
    const client = new Client({ name: `sdk-${label}`, version: '1.0.0' });
    await client.connect(transport());
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(ToolContracts).sort());
      for (const name of Object.keys(ToolContracts)) {
        const t = tools.find((x) => x.name === name);
        expect(t, name).toBeDefined();
        expect(t!.inputSchema.type).toBe('object');
        expect(t!.outputSchema?.type, `${name} outputSchema`).toBe('object');
        expect(t!.description?.length).toBeGreaterThan(20);
      }
      expect(tools.find((t) => t.name === 'quarantine_namespace')!.annotations?.destructiveHint).toBe(true);
      expect(tools.find((t) => t.name === 'list_findings')!.annotations?.readOnlyHint).toBe(true);

      await exerciseTools(async (name, args) => {
        const res = await client.callTool({ name, arguments: args });
        if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.content)}`);
        return res.structuredContent as Record<string, unknown>;
      }, label, piiType);

      // bad input is the tool's clear error, not a crash or a stack trace
      const bad = await client.callTool({ name: 'quarantine_namespace', arguments: { namespace: '' } });
      expect(bad.isError).toBe(true);
      expect(JSON.stringify(bad.content)).toMatch(/namespace|reason/);
      expect(JSON.stringify(bad.content)).not.toMatch(/at .*\.ts:\d+/);
    } finally {
      await client.close();
    }
  });

  it('reads a finding as a resource, fills a prompt, and runs a destructive call only once the human confirms', async () => {
    let answer: ElicitResult = { action: 'decline' };
    const asked: string[] = [];
    const client = new Client({ name: `ide-${label}`, version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return answer;
    });
    await client.connect(transport());
    try {
      const finding = await findingOf(piiType);
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`higgs://findings/${finding.id}`);
      const read = await client.readResource({ uri: `higgs://findings/${finding.id}` });
      const text = (read.contents[0] as { text: string }).text;
      expect(ToolContracts.get_finding.output.parse(JSON.parse(text)).finding.id).toBe(finding.id);

      const prompt = await client.getPrompt({ name: 'investigate_finding', arguments: { findingId: finding.id } });
      expect(JSON.stringify(prompt.messages)).toContain(finding.id);

      const ruleArgs = { name: `confirmed by ${label}`, action: 'alert', match: { promptContains: [`${label}-confirm`] } };
      const declined = await client.callTool({ name: 'add_inline_rule', arguments: ruleArgs });
      expect(declined.isError).toBe(true);
      expect(JSON.stringify(declined.content)).toMatch(/CANCELLED/);
      answer = { action: 'accept', content: { confirm: true } };
      const confirmed = await client.callTool({ name: 'add_inline_rule', arguments: ruleArgs });
      expect(confirmed.isError).toBeFalsy();
      expect(asked).toHaveLength(2);
      expect(asked[1]).toContain(`${label}-confirm`);
      const rules = ToolContracts.list_rules.output.parse((await client.callTool({ name: 'list_rules', arguments: {} })).structuredContent);
      expect(rules.rules.filter((r) => r.name === ruleArgs.name)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});

describe('MCP Inspector CLI', () => {
  const inspector = async (target: string[], method: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run('npx', ['@modelcontextprotocol/inspector', '--cli', ...target, ...method], { cwd: ROOT, timeout: 60_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  };
  const httpTarget = () => [stack.mcpUrl, '--transport', 'http', '--header', `Authorization: Bearer ${stack.adminToken}`];
  const stdioTarget = () => ['-e', `HIGGS_URL=${stack.tenantUrl}`, '-e', `HIGGS_TOKEN=${stack.adminToken}`, 'npx', ...STDIO_BIN];

  it.each([['streamable-http', httpTarget], ['stdio', stdioTarget]] as const)('lists and calls the tools over %s', async (label, target) => {
    const listed = await inspector(target(), ['--method', 'tools/list']) as { tools: Array<{ name: string; outputSchema?: unknown }> };
    for (const name of Object.keys(ToolContracts)) expect(listed.tools.find((t) => t.name === name)?.outputSchema, name).toBeDefined();

    const findings = await inspector(target(), ['--method', 'tools/call', '--tool-name', 'list_findings', '--tool-arg', 'category=pii']);
    const parsed = ToolContracts.list_findings.output.parse(findings.structuredContent);
    const email = parsed.findings.find((f) => f.evidence.piiType === 'email')!;
    expect(email).toBeDefined();

    const detail = await inspector(target(), ['--method', 'tools/call', '--tool-name', 'get_finding', '--tool-arg', `id=${email.id}`]);
    expect(ToolContracts.get_finding.output.parse(detail.structuredContent).finding.id).toBe(email.id);

    const q = await inspector(target(), [
      '--method', 'tools/call', '--tool-name', 'quarantine_namespace', '--tool-arg', `namespace=inspector-${label}`, '--tool-arg', 'reason=inspector test',
    ]);
    expect(ToolContracts.quarantine_namespace.output.parse(q.structuredContent).quarantine.namespace).toBe(`inspector-${label}`);

    for (const [name, args] of [['list_sessions', ['userId=dana']], ['cost_report', ['by=app']], ['verify_audit_chain', []]] as const) {
      const out = await inspector(target(), ['--method', 'tools/call', '--tool-name', name, ...args.flatMap((a) => ['--tool-arg', a])]);
      expect(out.isError, name).toBeFalsy();
      ToolContracts[name].output.parse(out.structuredContent);
    }
  });

  it.each([['streamable-http', httpTarget], ['stdio', stdioTarget]] as const)('reads resources and prompts over %s', async (_label, target) => {
    const email = await findingOf('email');
    const listed = await inspector(target(), ['--method', 'resources/list']) as { resources: Array<{ uri: string }> };
    expect(listed.resources.map((r) => r.uri)).toContain(`higgs://findings/${email.id}`);
    const read = await inspector(target(), ['--method', 'resources/read', '--uri', `higgs://findings/${email.id}`]) as {
      contents: Array<{ text: string }>;
    };
    expect(ToolContracts.get_finding.output.parse(JSON.parse(read.contents[0]!.text)).finding.id).toBe(email.id);
    const prompt = await inspector(target(), ['--method', 'prompts/get', '--prompt-name', 'investigate_user', '--prompt-args', 'userId=dana']);
    expect(JSON.stringify(prompt)).toContain('user_track for dana');
  });

  it('is refused without a token over HTTP', async () => {
    await expect(inspector([stack.mcpUrl, '--transport', 'http'], ['--method', 'tools/list'])).rejects.toThrow();
  });
});
