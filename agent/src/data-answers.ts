/**
 * The offline planner's answers about the tenant's data rather than one
 * finding: shadow AI, what a user sent, what changed, PII flows, cost, the
 * knowledge base, and requests to act (which become proposals).
 *
 * Every id, number and quoted value printed comes from a tool result of the
 * turn (the evals check it); nothing is summed or computed here, and fixed
 * text carries no digits. Recorded prompts are attacker-controlled: they are
 * quoted as inert code spans, never followed.
 */
import type { AgentRef, ChatEvent, Principal, ToolInput, ToolName, ToolOutput } from '@higgs/schema';
import { AgentError } from './errors.ts';
import { costDimensionIn, namespaceIn, sessionIdIn, userIn } from './intents.ts';
import type { ToolClient } from './tool-client.ts';

/** How many rows an answer lists; longer lists say "and more" rather than a computed count. */
const MAX_ROWS = 8;
/** Characters of a recorded prompt quoted back; cut at a word boundary. */
const QUOTE_CHARS = 160;
const DAY_MS = 24 * 60 * 60 * 1000;

type Outcome<N extends ToolName> = { ok: true; output: ToolOutput<N> } | { ok: false; error: AgentError };

export interface AnswerDeps {
  tools: ToolClient;
  now: Date;
  user: Principal;
  /** the finding the conversation is about, for "what does this cost" and "what did this user send" */
  finding: ToolOutput<'get_finding'> | null;
}

/** What an answer streams besides its text. */
export interface Answer {
  text: string;
  refs: AgentRef[];
}

export type Invoke = <N extends ToolName>(name: N, args: ToolInput<N>) => AsyncGenerator<ChatEvent, Outcome<N>>;

/** Quotes data as an inline code span whose fence outgrows any backtick run inside it (CommonMark). */
export function code(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  if (longestRun === 0) return `\`${flat}\``;
  const fence = '`'.repeat(longestRun + 1);
  return `${fence} ${flat} ${fence}`;
}

function quoteStart(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= QUOTE_CHARS) return code(flat);
  const cut = flat.slice(0, QUOTE_CHARS);
  const atSpace = cut.lastIndexOf(' ');
  return `${code(atSpace > 40 ? cut.slice(0, atSpace) : cut)}…`;
}

function more(total: number): string {
  return total > MAX_ROWS ? '- and more; ask me to narrow it down.' : '';
}

function must<N extends ToolName>(got: Outcome<N>): ToolOutput<N> {
  if (!got.ok) throw got.error;
  return got.output;
}

/** "summarise my shadow AI": unsanctioned assets and the open shadow findings. */
export async function* shadowAnswer(invoke: Invoke): AsyncGenerator<ChatEvent, Answer> {
  const assets = must(yield* invoke('list_assets', { governance: 'unsanctioned', limit: 50 })).assets;
  const findings = must(yield* invoke('list_findings', { category: 'shadow', status: 'open', limit: 50 })).findings;
  const lines: string[] = [];
  if (assets.length === 0 && findings.length === 0) {
    return { text: 'No shadow AI: every AI asset Higgs has seen is sanctioned or tolerated, and there are no open shadow findings.', refs: [] };
  }
  if (assets.length > 0) {
    lines.push('Unsanctioned AI assets (seen, never approved into the baseline):');
    for (const a of assets.slice(0, MAX_ROWS)) {
      const where = a.namespace !== null ? ` in namespace ${code(a.namespace)}` : '';
      lines.push(`- ${code(a.name)} (${a.kind}${where}): ${a.callCount} calls, last seen ${a.lastSeen}`);
    }
    const tail = more(assets.length);
    if (tail) lines.push(tail);
  }
  if (findings.length > 0) {
    lines.push('Open shadow AI findings:');
    for (const f of findings.slice(0, MAX_ROWS)) {
      const to = f.evidence.host ?? f.evidence.provider;
      const from = f.evidence.app ?? f.evidence.namespace;
      lines.push(`- ${code(f.id)}: ${f.severity}, ${code(f.title)}${from ? `, from ${code(from)}` : ''}${to ? ` to ${code(to)}` : ''}`);
    }
  }
  lines.push('Decide per asset: sanction it in Registry after a review, or ask me to "block it" for one of the findings and I will propose the block.');
  return {
    text: lines.join('\n'),
    refs: [
      ...findings.slice(0, MAX_ROWS).map((f): AgentRef => ({ kind: 'finding', id: f.id })),
      ...assets.slice(0, MAX_ROWS).map((a): AgentRef => ({ kind: 'asset', id: a.id })),
    ],
  };
}

/** "what did this user send": the user's recent calls, and the prompts of their newest session. */
export async function* userSentAnswer(invoke: Invoke, deps: AnswerDeps, message: string): AsyncGenerator<ChatEvent, Answer> {
  const userId = userIn(message) ?? deps.finding?.finding.evidence.users[0] ?? null;
  if (userId === null) {
    return { text: 'Which user do you mean? Name them ("what did user alice@example.com send?") or open a finding that has one.', refs: [] };
  }
  const track = yield* invoke('user_track', { userId, limit: 50 });
  if (!track.ok) throw track.error;
  const calls = track.output.events.flatMap((e) => (e.kind === 'llm_call' ? [e] : []));
  if (calls.length === 0) {
    // the name is the person's input, not a tool result: it is not repeated back
    return { text: 'I found no LLM calls by that user in this tenant.', refs: [] };
  }
  const lines = [`Calls on behalf of ${code(track.output.userId)}, newest first:`];
  for (const c of calls.slice(0, MAX_ROWS)) {
    const detected = c.piiTypes.length > 0 ? `, detected ${c.piiTypes.map(code).join(', ')}` : '';
    const injected = c.injectionScore > 0 ? `, injection score ${c.injectionScore}` : '';
    lines.push(`- ${c.ts}: ${code(c.provider)}${c.model ? ` ${code(c.model)}` : ''} from ${code(c.app ?? c.namespace ?? 'an unknown workload')}, verdict ${code(c.verdict)}${detected}${injected} (session ${code(c.sessionId)})`);
  }
  const tail = more(calls.length);
  if (tail) lines.push(tail);
  const refs: AgentRef[] = [...new Set(calls.slice(0, MAX_ROWS).map((c) => c.sessionId))].map((id) => ({ kind: 'session', id }));

  const newest = calls[0]!;
  const replay = yield* invoke('replay_session', { sessionId: newest.sessionId });
  if (replay.ok) {
    const prompts = replay.output.exchanges.flatMap((x) => x.messages.filter((m) => m.role === 'user').slice(-1).map((m) => ({ ts: x.ts, text: m.content })));
    if (prompts.length > 0) {
      lines.push(`What they sent in session ${code(newest.sessionId)} (recorded text, masked where Higgs detected PII or secrets; quoted, not followed):`);
      for (const p of prompts.slice(-MAX_ROWS)) lines.push(`- ${p.ts}: ${quoteStart(p.text)}`);
    }
  }
  return { text: lines.join('\n'), refs };
}

/** "what changed since yesterday": findings first seen in the last day, those still active, and rules added. */
export async function* changesAnswer(invoke: Invoke, deps: AnswerDeps): AsyncGenerator<ChatEvent, Answer> {
  const from = new Date(deps.now.getTime() - DAY_MS).toISOString();
  const since = Date.parse(from);
  const active = must(yield* invoke('list_findings', { from, limit: 200 })).findings;
  const rules = must(yield* invoke('list_rules', { includeDisabled: true })).rules;
  const fresh = active.filter((f) => Date.parse(f.firstSeen) >= since);
  const recurring = active.filter((f) => Date.parse(f.firstSeen) < since);
  const newRules = rules.filter((r) => Date.parse(r.createdAt) >= since);
  const lines: string[] = [];
  if (fresh.length === 0 && recurring.length === 0 && newRules.length === 0) {
    return { text: 'Nothing changed since yesterday: no finding was seen in the last day and no rule was added.', refs: [] };
  }
  if (fresh.length > 0) {
    lines.push('New since yesterday:');
    for (const f of fresh.slice(0, MAX_ROWS)) lines.push(`- ${code(f.id)}: ${f.severity} ${f.category}, ${code(f.title)}, first seen ${f.firstSeen}`);
    const tail = more(fresh.length);
    if (tail) lines.push(tail);
  } else {
    lines.push('No new findings since yesterday.');
  }
  if (recurring.length > 0) {
    lines.push('Older findings that were seen again:');
    for (const f of recurring.slice(0, MAX_ROWS)) lines.push(`- ${code(f.id)}: ${f.severity} ${f.category}, ${code(f.title)}, last seen ${f.lastSeen}`);
  }
  if (newRules.length > 0) {
    lines.push('Rules added:');
    for (const r of newRules.slice(0, MAX_ROWS)) lines.push(`- ${code(r.id)}: ${r.action} ${code(r.name)} by ${code(r.createdBy)} at ${r.createdAt}${r.enabled ? '' : ' (disabled since)'}`);
  }
  return {
    text: lines.join('\n'),
    refs: [
      ...[...fresh, ...recurring].slice(0, MAX_ROWS).map((f): AgentRef => ({ kind: 'finding', id: f.id })),
      ...newRules.slice(0, MAX_ROWS).map((r): AgentRef => ({ kind: 'rule', id: r.id })),
    ],
  };
}

/** "which apps leak PII to which providers": Data Tracks, one line per app → provider flow. */
export async function* piiFlowsAnswer(invoke: Invoke, deps: AnswerDeps): AsyncGenerator<ChatEvent, Answer> {
  if (!deps.tools.has('data_tracks')) {
    const pii = must(yield* invoke('list_findings', { category: 'pii', limit: 50 })).findings;
    if (pii.length === 0) return { text: 'No PII findings: Higgs has not seen personal data leave for a provider.', refs: [] };
    const lines = ['PII leaving for providers, per finding:'];
    for (const f of pii.slice(0, MAX_ROWS)) {
      const e = f.evidence;
      lines.push(`- ${code(e.app ?? e.namespace ?? 'unknown app')} → ${code(e.provider ?? e.host ?? 'unknown provider')}: ${code(e.piiType ?? 'pii')} in ${f.count} calls (${code(f.id)})`);
    }
    return { text: lines.join('\n'), refs: pii.slice(0, MAX_ROWS).map((f) => ({ kind: 'finding', id: f.id })) };
  }
  // look back as far as the findings do: the default window is a week
  const out = must(yield* invoke('data_tracks', { from: new Date(deps.now.getTime() - 30 * DAY_MS).toISOString() }));
  if (out.flows.length === 0) return { text: 'No PII flows: Higgs has not seen personal data leave for a provider in the last month.', refs: [] };
  const flows = [...out.flows].sort((a, b) => b.count - a.count);
  const lines = ['Apps sending PII to providers, most calls first:'];
  for (const f of flows.slice(0, MAX_ROWS)) {
    const app = f.app ?? f.namespace ?? 'an unattributed workload';
    const where = f.namespace !== null && f.app !== null ? ` (namespace ${code(f.namespace)})` : '';
    lines.push(`- ${code(app)}${where} → ${code(f.provider)}${f.model ? ` ${code(f.model)}` : ''}: ${code(f.piiType)} in ${f.count} calls, last ${f.lastSeen}`);
  }
  const tail = more(flows.length);
  if (tail) lines.push(tail);
  lines.push('Ask "why does the PII finding matter?" for the obligations, or "block it" to propose the block.');
  return { text: lines.join('\n'), refs: [] };
}

/** "what does this cost": the cost report by user, team, app or model (or for the app of the finding on screen). */
export async function* costAnswer(invoke: Invoke, deps: AnswerDeps, message: string): AsyncGenerator<ChatEvent, Answer> {
  if (!deps.tools.has('cost_report')) {
    return { text: 'Cost reporting is not available in this tenant yet: the cost_report tool is not installed.', refs: [] };
  }
  const about = /\b(this|it|that)\b/i.test(message) ? deps.finding?.finding.evidence.app ?? null : null;
  const by = about !== null ? 'model' : costDimensionIn(message);
  const out = must(yield* invoke('cost_report', { by, ...(about !== null ? { app: about } : {}) }));
  const scope = about !== null ? ` for app ${code(about)}` : '';
  const lines = [`LLM spend${scope} from ${out.range.from} to ${out.range.to}: ${out.total.costUsd} USD over ${out.total.calls} calls.`];
  if (out.total.unpricedCalls > 0) lines.push(`${out.total.unpricedCalls} calls used models without a price and are counted, not priced.`);
  const rows = [...out.rows].sort((a, b) => b.costUsd - a.costUsd);
  if (rows.length > 0) {
    lines.push(`By ${out.by}, most expensive first:`);
    for (const r of rows.slice(0, MAX_ROWS)) {
      lines.push(`- ${r.key === null ? 'unattributed' : code(r.key)}: ${r.costUsd} USD, ${r.calls} calls, ${r.tokens.input} input and ${r.tokens.output} output tokens`);
    }
  }
  lines.push(`Prices as of ${out.prices.asOf} (${out.prices.source}).`);
  return { text: lines.join('\n'), refs: [] };
}

/** How-to and framework questions: the nearest knowledge-base passages, cited. */
export async function* knowledgeAnswer(invoke: Invoke, message: string): AsyncGenerator<ChatEvent, Answer> {
  const out = must(yield* invoke('search_knowledge', { query: message, limit: 3 }));
  const useful = out.chunks.filter((c) => c.score > 0.05);
  if (useful.length === 0) return { text: 'The knowledge base has nothing on that. Ask about remediation, the compliance frameworks or the enforcement primitives.', refs: [] };
  const lines = ['From the Higgs knowledge base:'];
  for (const c of useful) lines.push(`- ${c.text}\n  (source: ${code(c.id)}, ${code(c.title)})`);
  return { text: lines.join('\n'), refs: [] };
}

/** The passage that best fits a finding's category, for a citation under an explanation; null when none fits. */
export async function* remediationSource(invoke: Invoke, category: string): AsyncGenerator<ChatEvent, ToolOutput<'search_knowledge'>['chunks'][number] | null> {
  const got = yield* invoke('search_knowledge', { query: `remediate ${category.replace('pii', 'PII egress personal data')} finding`, topic: 'remediation', limit: 1 });
  return got.ok ? got.output.chunks[0] ?? null : null;
}

/**
 * "kill session X", "quarantine namespace Y", "disable rule Z": the agent only
 * proposes; a person approves. The arguments come from the person's message.
 */
export async function* actAnswer(invoke: Invoke, deps: AnswerDeps, message: string): AsyncGenerator<ChatEvent, Answer & { proposal: ToolOutput<'propose_action'>['proposal'] | null }> {
  const text = message.toLowerCase();
  const reason = `Requested in chat by ${deps.user.name} (${deps.user.id}).`;
  let request: { tool: 'kill_session' | 'quarantine_namespace' | 'disable_rule' | 'release_quarantine'; args: Record<string, unknown>; title: string } | null = null;
  const sessionId = sessionIdIn(message);
  const namespace = namespaceIn(message);
  if (/\b(kill|terminate)\b/.test(text) && sessionId !== null) {
    request = { tool: 'kill_session', args: { sessionId, reason }, title: `Kill session ${sessionId}` };
  } else if (/\b(quarantine|isolate)\b/.test(text) && namespace !== null) {
    request = { tool: 'quarantine_namespace', args: { namespace, reason }, title: `Quarantine namespace ${namespace}` };
  }
  const base = 'I do not execute actions: I file them as proposals, and a person with the right role approves them in the Briefing.';
  if (request === null) {
    return { text: `${base} Tell me exactly what to propose, e.g. "quarantine namespace payments" or "kill session <id>".`, refs: [], proposal: null };
  }
  const filed = yield* invoke('propose_action', {
    tool: request.tool, args: request.args, title: request.title.slice(0, 300),
    rationale: `${reason} The agent proposes; it does not act.`, ...(deps.finding ? { findingId: deps.finding.finding.id } : {}),
  });
  if (!filed.ok) return { text: `${base} The tools refused this proposal, so nothing was filed.`, refs: [], proposal: null };
  const p = filed.output.proposal;
  return {
    text: `${base} I have proposed it as ${code(p.id)}: ${code(p.title)}. Nothing changes until it is approved; it expires at ${p.expiresAt}.`,
    refs: [{ kind: 'proposal', id: p.id }],
    proposal: p,
  };
}
