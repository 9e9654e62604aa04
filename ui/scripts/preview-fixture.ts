/**
 * Dev aid, not a test: serves ui/dist plus a small in-memory imitation of the
 * tenant API (/api/me, /api/tools/*, /api/agent/chat) so the Briefing can be
 * looked at without a tenant. Every tool answer is parsed with its contract
 * first, so the fixture cannot drift from what the real tenant must send.
 *
 *   npm run build -w @higgs/ui
 *   npx tsx ui/scripts/preview-fixture.ts [--port 0] [--screenshot <dir>]
 *
 * With --screenshot it drives Debian's chromium through playwright-core, writes
 * PNGs of the page (idle, mid-interaction, no token) into <dir>, and exits.
 */
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ToolContracts, type Finding, type Proposal, type Rule, type ToolName } from '@higgs/schema';
import { argsHash } from '../src/lib/args-hash.ts';

const TOKEN = 'dev-token';
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' }, screenshot: { type: 'string' } } });

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function finding(id: string, category: Finding['category'], severity: Finding['severity'], title: string, ev: Partial<Finding['evidence']>, count: number, minutes: number): Finding {
  return {
    id, category, severity, status: 'open', title, assetId: `asset-${id}`, detector: `${category}.demo`, count,
    firstSeen: ago(minutes + 300), lastSeen: ago(minutes),
    evidence: {
      callIds: [], sessionIds: [], users: [], valueHashes: [], provider: null, model: null, host: null, namespace: null, app: null,
      piiType: null, maxInjectionScore: null, ...ev,
    },
  };
}

const findings: Finding[] = [
  finding('f-pii-ssn', 'pii', 'critical', 'US SSNs sent to OpenAI from checkout', { namespace: 'shop', app: 'checkout', provider: 'openai', model: 'gpt-4o-mini', piiType: 'ssn' }, 42, 1),
  finding('f-inj', 'injection', 'high', 'Prompt injection reaching support-bot tools', { namespace: 'support', app: 'support-bot', provider: 'anthropic', model: 'claude-sonnet-4', maxInjectionScore: 91 }, 7, 4),
  finding('f-shadow', 'shadow', 'high', 'Unsanctioned Ollama endpoint in namespace research', { namespace: 'research', app: 'notebook', provider: 'openai_compatible', model: 'llama3.1:8b' }, 130, 9),
  finding('f-auth', 'authentication', 'medium', 'Unauthenticated calls to the internal inference gateway', { namespace: 'ml', app: 'gateway', provider: 'openai_compatible', model: 'mistral-7b' }, 18, 26),
  finding('f-access', 'access', 'low', 'Batch job reaches a provider outside its allow-list', { namespace: 'etl', app: 'nightly-summaries', provider: 'gemini', model: 'gemini-1.5-flash', host: 'generativelanguage.googleapis.com' }, 3, 180),
];

const LABELS: Record<string, { label: string; tool: 'block_from_finding' | 'quarantine_namespace'; effect: string }> = {
  pii: { label: 'Block PII egress', tool: 'block_from_finding', effect: 'blocks any call whose prompt carries a US SSN, in every app' },
  authentication: { label: 'Block unauthenticated calls', tool: 'block_from_finding', effect: 'blocks calls to this gateway with no identity' },
  access: { label: 'Block this target', tool: 'block_from_finding', effect: 'blocks calls from nightly-summaries to generativelanguage.googleapis.com' },
  injection: { label: 'Block the injection vector', tool: 'block_from_finding', effect: 'blocks prompts scoring ≥ 80 for injection in support-bot' },
  shadow: { label: 'Quarantine namespace', tool: 'quarantine_namespace', effect: 'refuses every AI-provider connection from namespace research' },
};

const rules: Rule[] = [
  { id: 'rule-7f3a', name: 'Block secrets in prompts', action: 'block', match: { piiTypes: ['secret'] }, enabled: true, createdBy: 'alice@acme.io', createdAt: ago(60 * 26), sourceFindingId: null },
  { id: 'rule-91c2', name: 'Redact e-mail addresses to external providers', action: 'redact', match: { piiTypes: ['email'], providers: ['openai', 'gemini'] }, enabled: true, createdBy: 'bob@acme.io', createdAt: ago(60 * 3), sourceFindingId: null },
];
let proposals: Proposal[] = [
  {
    id: 'prop-0001', tool: 'block_from_finding', args: { findingId: 'f-inj' }, argsHash: await argsHash('block_from_finding', { findingId: 'f-inj' }), title: 'Block the injection vector in support-bot',
    rationale: 'Seven prompts scored ≥ 91 and two reached the refund tool. A block on injection score ≥ 80 for support-bot stops the pattern without affecting other apps.',
    findingId: 'f-inj', status: 'pending', proposedBy: 'higgs-agent', createdAt: ago(3), expiresAt: ago(-60 * 24), decidedBy: null, decidedAt: null, result: null,
  },
];
let enforcementActions = 12;

function summary() {
  const open = findings.filter((f) => f.status === 'open');
  const byCategory = Object.fromEntries(['access', 'authentication', 'compliance', 'cve', 'injection', 'pii', 'shadow'].map((c) => [c, open.filter((f) => f.category === c).length]));
  return {
    counts: {
      assets: 37, sessions: 214, calls: 18_432, openFindings: open.length, enforcementActions, evidencePacks: 1,
      activeRules: rules.length, pendingProposals: proposals.filter((p) => p.status === 'pending').length,
    },
    findingsByCategory: byCategory,
    needsDecision: open.map((f) => {
      const s = LABELS[f.category];
      const toolArgs = s?.tool === 'quarantine_namespace' ? { namespace: f.evidence.namespace, reason: `Shadow AI: ${f.title}` } : { findingId: f.id };
      return { finding: f, suggestedAction: s === undefined ? null : { label: s.label, tool: s.tool, args: toolArgs, effect: s.effect } };
    }),
  };
}

function ruleFrom(f: Finding): Rule {
  const rule: Rule = {
    id: `rule-${Math.random().toString(16).slice(2, 6)}`, name: `${LABELS[f.category]?.label ?? 'Block'}: ${f.title}`, action: 'block',
    match: f.evidence.piiType !== null ? { piiTypes: [f.evidence.piiType] } : { apps: [f.evidence.app ?? 'unknown'] },
    enabled: true, createdBy: 'admin', createdAt: new Date().toISOString(), sourceFindingId: f.id,
  };
  rules.unshift(rule);
  return rule;
}

class FixtureError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function runTool(name: string, input: Record<string, unknown>): unknown {
  switch (name) {
    case 'briefing_summary': return summary();
    case 'list_rules': return { rules };
    case 'list_proposals': return { proposals: proposals.filter((p) => input['status'] === undefined || p.status === input['status']) };
    case 'block_from_finding': {
      const f = findings.find((x) => x.id === input['findingId']);
      if (f === undefined) throw new FixtureError(404, 'NOT_FOUND', `no finding ${String(input['findingId'])}`);
      return { rule: ruleFrom(f) };
    }
    case 'quarantine_namespace':
      enforcementActions++;
      return { quarantine: { id: 'q-1', namespace: String(input['namespace']), reason: String(input['reason']), createdBy: 'admin', createdAt: new Date().toISOString(), active: true, releasedAt: null, enforcement: 'recorded' } };
    case 'approve_action':
    case 'reject_action': {
      const p = proposals.find((x) => x.id === input['proposalId'] && x.status === 'pending');
      if (p === undefined) throw new FixtureError(409, 'CONFLICT', 'the proposal is no longer pending');
      if (name === 'approve_action' && input['argsHash'] !== p.argsHash) throw new FixtureError(409, 'APPROVAL_MISMATCH', 'the arguments changed since they were shown');
      const f = findings.find((x) => x.id === p.findingId);
      const result = name === 'approve_action' && f !== undefined ? { rule: ruleFrom(f) } : null;
      const decided: Proposal = { ...p, status: name === 'approve_action' ? 'approved' : 'rejected', decidedBy: 'admin', decidedAt: new Date().toISOString(), result };
      proposals = proposals.map((x) => (x.id === p.id ? decided : x));
      return name === 'approve_action' ? { proposal: decided, result: result ?? {} } : { proposal: decided };
    }
    default: throw new FixtureError(404, 'UNKNOWN_TOOL', `the fixture does not serve ${name}`);
  }
}

async function streamChat(body: { message?: string; context?: { findingId?: string } }, res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const send = async (event: unknown, pauseMs = 120) => {
    res.write(`${JSON.stringify(event)}\n`);
    await new Promise((r) => setTimeout(r, pauseMs));
  };
  const f = findings.find((x) => x.id === body.context?.findingId) ?? findings[0]!;
  await send({ type: 'start', conversationId: 'conv-1' });
  await send({ type: 'tool_call', name: 'get_finding', args: { id: f.id } });
  await send({ type: 'tool_result', name: 'get_finding', ok: true });
  for (const delta of [`“${f.title}” matters because `, `${f.count} calls from ${f.evidence.app ?? 'this app'} `, 'carried data your policy says must stay in the cluster. ', 'I propose a block rule scoped to this pattern; approve it under Pending proposals.']) {
    await send({ type: 'text', delta });
  }
  const proposal: Proposal = {
    id: `prop-${Math.random().toString(16).slice(2, 6)}`, tool: 'block_from_finding', args: { findingId: f.id }, argsHash: await argsHash('block_from_finding', { findingId: f.id }), title: `${LABELS[f.category]?.label ?? 'Block'} for ${f.evidence.app ?? f.id}`,
    rationale: `Proposed from the chat: ${f.title}.`, findingId: f.id, status: 'pending', proposedBy: 'higgs-agent', createdAt: new Date().toISOString(), expiresAt: ago(-60 * 24), decidedBy: null, decidedAt: null, result: null,
  };
  proposals.push(proposal);
  await send({ type: 'tool_call', name: 'propose_action', args: { tool: 'block_from_finding' } });
  await send({ type: 'tool_result', name: 'propose_action', ok: true });
  await send({ type: 'proposal', proposal });
  await send({ type: 'refs', refs: [{ kind: 'finding', id: f.id }, { kind: 'proposal', id: proposal.id }] });
  await send({ type: 'done' }, 0);
  res.end();
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (url.pathname.startsWith('/api/')) {
      const error = (status: number, code: string, message: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code, message } }));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(401, 'UNAUTHORIZED', 'missing or unknown token');
      try {
        if (url.pathname === '/api/me') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ principal: { id: 'p-admin', tenantId: 'tenant-demo', name: 'admin', kind: 'human', role: 'admin' } }));
        }
        if (url.pathname === '/api/agent/chat' && req.method === 'POST') return await streamChat(await readBody(req), res);
        const name = /^\/api\/tools\/([a-z_]+)$/.exec(url.pathname)?.[1];
        if (name !== undefined && req.method === 'POST') {
          const output = runTool(name, await readBody(req));
          const checked = ToolContracts[name as ToolName].output.parse(output);
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(checked));
        }
        return error(404, 'NOT_FOUND', `no route ${url.pathname}`);
      } catch (err) {
        if (err instanceof FixtureError) return error(err.status, err.code, err.message);
        console.error(err);
        return error(500, 'INTERNAL', 'fixture fault');
      }
    }
    const file = normalize(join(DIST, url.pathname === '/' ? 'index.html' : url.pathname));
    const target = file.startsWith(DIST) && existsSync(file) && statSync(file).isFile() ? file : join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' });
    createReadStream(target).pipe(res);
  })();
});

server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  console.log(`fixture tenant: ${base}/#token=${TOKEN}`);
  if (args.screenshot !== undefined) {
    screenshots(base, args.screenshot)
      .catch((err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      })
      .finally(() => server.close());
  }
});

async function screenshots(base: string, dir: string) {
  const { chromium } = await import('playwright-core');
  mkdirSync(dir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    page.on('console', (m) => console.log(`[browser ${m.type()}] ${m.text()}`));
    await page.goto(`${base}/#token=${TOKEN}`);
    await page.getByTestId('finding-row').first().waitFor();
    await page.getByTestId('rule').first().waitFor();
    console.log('url after load:', page.url());
    await page.screenshot({ path: join(dir, 'briefing.png'), fullPage: true });

    await page.locator('[data-finding-id="f-pii-ssn"] [data-testid="finding-action"]').click();
    await page.screenshot({ path: join(dir, 'confirm.png'), fullPage: true });
    await page.getByTestId('finding-action-confirm').click();
    await page.getByTestId('finding-action-result').waitFor();
    await page.locator('[data-proposal-id="prop-0001"] [data-testid="approve"]').click();
    await page.getByTestId('decision').first().waitFor();
    await page.locator('[data-finding-id="f-shadow"] button').first().click();
    await page.getByTestId('chat-input').fill('Why does this finding matter?');
    await page.getByTestId('chat-send').click();
    await page.locator('[data-testid="chat-answer"][data-status="done"]').waitFor();
    await page.screenshot({ path: join(dir, 'acted.png') });
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.screenshot({ path: join(dir, 'focus.png') });

    const fresh = await browser.newPage({ viewport: { width: 1440, height: 700 } });
    await fresh.goto(base);
    await fresh.getByTestId('no-token').waitFor();
    await fresh.screenshot({ path: join(dir, 'no-token.png') });
  } finally {
    await browser.close();
  }
}
