/**
 * The offline planner: intent → tool calls → grounded answer, streamed as
 * ChatEvents. It answers until the Claude loop lands (issue 6).
 *
 * Tool results are data, never instructions: which tools run and what is
 * proposed depend only on the person's message, the finding they point at and
 * the finding's `suggestedAction` (computed by the tenant, not written by a
 * workload). Titles and evidence are quoted, never obeyed.
 */
import type {
  AgentRef, ChatEvent, Finding, FindingCategory, PiiType, Principal, Proposal, ToolInput, ToolName, ToolOutput,
} from '@higgs/schema';
import {
  actAnswer, changesAnswer, code, costAnswer, knowledgeAnswer, piiFlowsAnswer, remediationSource, shadowAnswer, userSentAnswer,
} from './data-answers.ts';
import type { Answer, AnswerDeps, Invoke } from './data-answers.ts';

export { code };
import { AgentError } from './errors.ts';
import { categoryIn, classifyIntent, findingIdIn, needsFinding } from './intents.ts';
import type { Intent } from './intents.ts';
import type { ToolClient } from './tool-client.ts';

export interface TurnInput {
  message: string;
  /** the finding the person is looking at (ChatRequest.context.findingId) */
  contextFindingId: string | null;
  /** the finding the conversation was about before this turn */
  conversationFindingId: string | null;
  user: Principal;
  /** the clock "since yesterday" is measured on */
  now?: Date;
  /** the ask of the previous turn, which "and the other one?" repeats */
  previousIntent?: Intent | null;
  /** the findings the previous turn listed or chose among, which "the other one" picks from */
  candidates?: readonly string[];
}

export interface TurnOutcome {
  intent: Intent;
  /** the finding the conversation is about after this turn */
  findingId: string | null;
  /** the findings this turn listed or chose among */
  candidates: string[];
}

type FindingDetail = ToolOutput<'get_finding'>;
type SuggestedAction = NonNullable<FindingDetail['suggestedAction']>;
type Outcome<N extends ToolName> = { ok: true; output: ToolOutput<N> } | { ok: false; error: AgentError };

/** Lists the planner names in answers; long evidence lists are cut, never summed (a computed number is not grounded). */
const MAX_LISTED = 10;

/**
 * Runs one chat turn. Yields tool_call / tool_result around every tool call,
 * then the answer as text deltas, refs and, when it proposed, the proposal.
 * Does not yield start/done: the agent frames the turn.
 */
export async function* planTurn(tools: ToolClient, input: TurnInput): AsyncGenerator<ChatEvent, TurnOutcome> {
  let intent = classifyIntent(input.message);
  const keep = (candidates: readonly string[] = input.candidates ?? []): TurnOutcome => ({
    intent, findingId: input.conversationFindingId, candidates: [...candidates],
  });
  const call: Invoke = (name, args) => invoke(tools, name, args);
  const deps = async function* (): AsyncGenerator<ChatEvent, AnswerDeps> {
    const id = input.contextFindingId ?? input.conversationFindingId;
    let finding: AnswerDeps['finding'] = null;
    if (id !== null) {
      const got = yield* invoke(tools, 'get_finding', { id });
      if (got.ok) finding = got.output;
    }
    return { tools, now: input.now ?? new Date(), user: input.user, finding };
  };
  const answer = async function* (a: Answer): AsyncGenerator<ChatEvent> {
    yield* speak(a.text);
    if (a.refs.length > 0) yield { type: 'refs', refs: a.refs };
  };

  if (intent === 'summary' && categoryIn(input.message) === 'shadow') intent = 'shadow';
  switch (intent) {
    case 'summary': {
      const listed = yield* summarise(tools, categoryIn(input.message));
      return keep(listed);
    }
    case 'approve':
      yield* explainApproval(tools);
      return keep();
    case 'shadow':
      yield* answer(yield* shadowAnswer(call));
      return keep();
    case 'changes':
      yield* answer(yield* changesAnswer(call, { tools, now: input.now ?? new Date(), user: input.user, finding: null }));
      return keep();
    case 'pii_flows':
      yield* answer(yield* piiFlowsAnswer(call, { tools, now: input.now ?? new Date(), user: input.user, finding: null }));
      return keep();
    case 'user_sent':
      yield* answer(yield* userSentAnswer(call, yield* deps(), input.message));
      return keep();
    case 'cost':
      yield* answer(yield* costAnswer(call, yield* deps(), input.message));
      return keep();
    case 'knowledge':
      if (!tools.has('search_knowledge')) break;
      yield* answer(yield* knowledgeAnswer(call, input.message));
      return keep();
    case 'act': {
      const acted = yield* actAnswer(call, yield* deps(), input.message);
      yield* answer(acted);
      if (acted.proposal) yield { type: 'proposal', proposal: acted.proposal };
      return keep();
    }
    default:
      break;
  }

  let otherId: string | null = null;
  if (intent === 'other') {
    otherId = (input.candidates ?? []).find((id) => id !== input.conversationFindingId) ?? null;
    if (otherId === null) {
      yield* speak('Which other one? I have not listed several findings in this conversation yet; ask me "what\'s going on?" first.');
      return keep();
    }
    intent = input.previousIntent !== undefined && input.previousIntent !== null && needsFinding(input.previousIntent) ? input.previousIntent : 'explain';
  }
  if (!needsFinding(intent)) {
    yield* speak(HELP);
    return keep();
  }

  const resolved = yield* resolveFinding(tools, otherId !== null ? { ...input, message: '', contextFindingId: otherId } : input);
  const candidates = resolved.candidates ?? [...(input.candidates ?? [])];
  const detail = resolved.detail;
  if (detail === null) return keep(candidates);
  const refs = findingRefs(detail);
  const done = (): TurnOutcome => ({ intent, findingId: detail.finding.id, candidates });

  if (intent === 'who') {
    yield* speak(whoAnswer(detail));
    yield { type: 'refs', refs };
    return done();
  }

  const proposed = detail.suggestedAction === null ? null : yield* proposeSuggested(tools, detail, detail.suggestedAction, input.user);
  const lines = intent === 'explain' ? explainLines(detail) : intent === 'remediate' ? remediateLines(detail) : blockLines(detail);
  if (intent !== 'block' && tools.has('search_knowledge')) {
    const source = yield* remediationSource(call, detail.finding.category);
    if (source !== null) lines.push(`More in the knowledge base: ${code(source.id)}, ${code(source.title)}.`);
  }
  lines.push(...proposalLines(detail, proposed));
  yield* speak(lines.join('\n'));
  if (proposed?.proposal) refs.push({ kind: 'proposal', id: proposed.proposal.id });
  yield { type: 'refs', refs };
  if (proposed?.proposal) yield { type: 'proposal', proposal: proposed.proposal };
  return done();
}

const HELP = [
  'I answer from the same tools your MCP clients use, and I can only read and propose: a person approves every action.',
  'Ask me:',
  '- "why does this finding matter?" or "explain the PII finding": what leaked, where to, from which app, on whose behalf, and which obligations it touches.',
  '- "what should I do?": the remediation, with the suggested block filed as a proposal for approval.',
  '- "who triggered it?": the users and sessions behind a finding.',
  '- "block it": propose the suggested block for the finding we are discussing.',
  '- "what\'s going on?": a summary of the briefing.',
].join('\n');

async function* invoke<N extends ToolName>(tools: ToolClient, name: N, args: ToolInput<N>): AsyncGenerator<ChatEvent, Outcome<N>> {
  yield { type: 'tool_call', name, args: args as Record<string, unknown> };
  try {
    const output = await tools.call(name, args);
    yield { type: 'tool_result', name, ok: true };
    return { ok: true, output };
  } catch (error) {
    // a tool's own refusal (not found, forbidden) is something to answer about; anything else is a fault
    if (error instanceof AgentError && error.code === 'TOOL_FAILED') {
      yield { type: 'tool_result', name, ok: false };
      return { ok: false, error };
    }
    throw error;
  }
}

/** Yields the answer sentence by sentence so the UI streams it. */
async function* speak(answer: string): AsyncGenerator<ChatEvent> {
  for (const delta of sentences(answer)) yield { type: 'text', delta };
}

/** Splits text after sentence ends and line breaks; the pieces concatenate to the input. */
export function sentences(text: string): string[] {
  return text.split(/(?<=[.!?][ \t]+|\n)(?=\S)/).filter((s) => s.length > 0);
}

/**
 * The finding this turn is about: an id in the message, else the newest finding
 * of a category the message names, else the one on screen, else the one the
 * conversation was about. Speaks and returns null when there is none.
 */
async function* resolveFinding(tools: ToolClient, input: TurnInput): AsyncGenerator<ChatEvent, Resolved> {
  let id = findingIdIn(input.message);
  let candidates: string[] | null = null;
  const category = id === null ? categoryIn(input.message) : null;
  if (category !== null) {
    const listed = yield* invoke(tools, 'list_findings', { category, limit: 50 });
    if (!listed.ok) throw listed.error;
    const ordered = newestFirst(listed.output.findings);
    const newest = ordered[0];
    if (newest === undefined) {
      yield* speak(`There are no ${category} findings in this tenant.`);
      return { detail: null, candidates };
    }
    id = newest.id;
    candidates = ordered.map((f) => f.id);
  }
  id ??= input.contextFindingId ?? input.conversationFindingId;

  if (id === null) {
    const listed = yield* invoke(tools, 'list_findings', { status: 'open', limit: 5 });
    if (!listed.ok) throw listed.error;
    const open = newestFirst(listed.output.findings);
    yield* speak(open.length === 0
      ? 'Which finding do you mean? There are no open findings right now.'
      : ['Which finding do you mean? The newest open ones:', ...open.map((f) => `- ${code(f.id)}: ${f.severity} ${f.category}, ${code(f.title)}`)].join('\n'));
    if (open.length > 0) yield { type: 'refs', refs: open.map((f): AgentRef => ({ kind: 'finding', id: f.id })) };
    return { detail: null, candidates: open.map((f) => f.id) };
  }

  const got = yield* invoke(tools, 'get_finding', { id });
  if (got.ok) return { detail: got.output, candidates };
  if (got.error.toolCode === 'NOT_FOUND') {
    // the unknown id is the person's input, not a tool result: it is not repeated back
    yield* speak('I found no finding with that id in this tenant. Open the finding in the Briefing or name its category, e.g. "the PII finding".');
    return { detail: null, candidates };
  }
  throw got.error;
}

interface Resolved {
  detail: FindingDetail | null;
  /** the findings listed while resolving (a category's, or the open ones when none was named) */
  candidates: string[] | null;
}

function newestFirst(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen));
}

const PII_LABELS: Record<PiiType, string> = {
  email: 'email addresses',
  phone: 'phone numbers',
  ssn: 'US Social Security numbers',
  credit_card: 'payment card numbers',
  iban: 'bank account numbers (IBAN)',
  ip_address: 'IP addresses',
  person: 'personal names',
  address: 'postal addresses',
  passport: 'passport numbers',
  national_id: 'national identity numbers',
  secret: 'credentials and secrets',
};

const WHY_IT_MATTERS: Record<FindingCategory, string> = {
  pii: 'Once sent, this data sits with the model provider outside your control: it can be logged, retained or used under the provider\'s terms, and every call is a disclosure you must be able to account for.',
  injection: 'Prompt injection lets whoever wrote the text steer the model: it can leak the system prompt or data, or make an agent call tools it should not.',
  shadow: 'Unsanctioned AI is outside your baseline: no contract, data-processing terms or review cover what is sent to it.',
  access: 'An agent reaching data or tools beyond its purpose widens what one compromised prompt can do.',
  authentication: 'Weak or shared credentials on AI paths let calls go unattributed and unrevoked.',
  compliance: 'It is a gap auditors will ask you to evidence or close.',
  cve: 'A known vulnerability in an AI dependency is a ready-made way in.',
};

function explainLines(d: FindingDetail): string[] {
  const f = d.finding;
  const e = f.evidence;
  const lines = [`${code(f.id)} is a ${f.severity} ${f.category} finding: ${code(f.title)}.`];
  if (e.piiType !== null) lines.push(`What leaked: ${PII_LABELS[e.piiType]} (${code(e.piiType)}).`);
  if (e.maxInjectionScore !== null) lines.push(`Highest injection score seen: ${e.maxInjectionScore}.`);
  const target = [
    e.provider !== null ? `provider ${code(e.provider)}` : null,
    e.model !== null ? `model ${code(e.model)}` : null,
    e.host !== null ? `host ${code(e.host)}` : null,
  ].filter((s) => s !== null);
  if (target.length > 0) lines.push(`Sent to: ${target.join(', ')}.`);
  const origin = originOf(d);
  if (origin !== null) lines.push(`From: ${origin}.`);
  lines.push(e.users.length > 0 ? `On behalf of: ${listed(e.users)}.` : 'On behalf of: no end user was attributed to these calls.');
  lines.push(`Seen in ${f.count} ${f.count === 1 ? 'call' : 'calls'}, first ${f.firstSeen}, last ${f.lastSeen}.`);
  lines.push(`Why it matters: ${WHY_IT_MATTERS[f.category]}`);
  if (d.obligations.length > 0) {
    lines.push('Obligations it touches:');
    for (const o of d.obligations) lines.push(`- ${o.framework} ${o.control}: ${o.why}`);
  }
  lines.push(`What to do: ${d.remediation}`);
  return lines;
}

function remediateLines(d: FindingDetail): string[] {
  const f = d.finding;
  return [`For ${code(f.id)} (${f.severity} ${f.category}, ${code(f.title)}): ${d.remediation}`];
}

function blockLines(d: FindingDetail): string[] {
  const f = d.finding;
  return [`To block ${code(f.id)} (${f.severity} ${f.category}, ${code(f.title)}):`];
}

function whoAnswer(d: FindingDetail): string {
  const f = d.finding;
  const e = f.evidence;
  const lines = [
    e.users.length > 0
      ? `${code(f.id)} was triggered on behalf of ${e.users.length === 1 ? 'user' : 'users'} ${listed(e.users)}.`
      : `No end user was attributed to the calls behind ${code(f.id)}.`,
  ];
  if (e.sessionIds.length > 0) lines.push(`Sessions: ${listed(e.sessionIds)}; replay them in User Tracks to see each exchange.`);
  const origin = originOf(d);
  if (origin !== null) lines.push(`The calls came from ${origin}.`);
  lines.push(`Seen in ${f.count} ${f.count === 1 ? 'call' : 'calls'}, first ${f.firstSeen}, last ${f.lastSeen}.`);
  return lines.join('\n');
}

function originOf(d: FindingDetail): string | null {
  const e = d.finding.evidence;
  if (e.app !== null && e.namespace !== null) return `app ${code(e.app)} in namespace ${code(e.namespace)}`;
  if (e.app !== null) return `app ${code(e.app)}`;
  if (e.namespace !== null) return `namespace ${code(e.namespace)}`;
  if (d.asset !== null) return `asset ${code(d.asset.name)}`;
  return null;
}

function listed(values: readonly string[]): string {
  const shown = values.slice(0, MAX_LISTED).map(code).join(', ');
  return values.length > MAX_LISTED ? `${shown} and others` : shown;
}

interface Proposed {
  /** null when the tools refused the proposal */
  proposal: Proposal | null;
  /** true when an identical proposal was already pending */
  existing: boolean;
}

/**
 * Files the finding's suggested action as a proposal, unless the same action
 * for the same finding is already pending. Never executes anything.
 */
async function* proposeSuggested(
  tools: ToolClient, d: FindingDetail, action: SuggestedAction, user: Principal,
): AsyncGenerator<ChatEvent, Proposed> {
  const pending = yield* invoke(tools, 'list_proposals', { status: 'pending' });
  if (!pending.ok) throw pending.error;
  // stored args have the tool's defaults applied, so compare only what the suggestion sets
  const same = pending.output.proposals.find((p) => p.findingId === d.finding.id && p.tool === action.tool
    && Object.entries(action.args).every(([k, v]) => canonical(p.args[k]) === canonical(v)));
  if (same !== undefined) return { proposal: same, existing: true };

  const f = d.finding;
  const rationale = [
    `Finding ${f.id} (${f.severity} ${f.category}) was seen in ${f.count} calls between ${f.firstSeen} and ${f.lastSeen}.`,
    `Suggested action: ${action.effect}`,
    `Proposed by the agent when ${user.name} (${user.id}) asked about the finding in chat.`,
  ].join(' ');
  const filed = yield* invoke(tools, 'propose_action', {
    tool: action.tool,
    args: action.args,
    title: action.label.slice(0, 300),
    rationale: rationale.slice(0, 4000),
    findingId: f.id,
  });
  return { proposal: filed.ok ? filed.output.proposal : null, existing: false };
}

function proposalLines(d: FindingDetail, proposed: Proposed | null): string[] {
  const action = d.suggestedAction;
  if (action === null) return ['There is no block to propose for this finding: it needs a decision in the Briefing rather than a rule.'];
  const lines = [`Suggested action: ${action.label}. ${action.effect}`];
  if (proposed?.proposal == null) {
    lines.push('I could not file it as a proposal: the tools refused it. You can apply it from the finding in the Briefing.');
  } else if (proposed.existing) {
    lines.push(`It is already proposed as ${code(proposed.proposal.id)} and waits for approval in the Briefing.`);
  } else {
    lines.push(`I have proposed it as ${code(proposed.proposal.id)}. Nothing changes until a person with the right role approves it in the Briefing.`);
  }
  return lines;
}

function findingRefs(d: FindingDetail): AgentRef[] {
  const f = d.finding;
  return [
    { kind: 'finding', id: f.id },
    { kind: 'asset', id: f.assetId },
    ...f.evidence.sessionIds.slice(0, MAX_LISTED).map((id): AgentRef => ({ kind: 'session', id })),
  ];
}

/** The briefing; narrowed to one category when the person names one ("summarise my shadow AI"). */
async function* summarise(tools: ToolClient, category: FindingCategory | null): AsyncGenerator<ChatEvent, string[]> {
  const got = yield* invoke(tools, 'briefing_summary', {});
  if (!got.ok) throw got.error;
  const { counts, findingsByCategory } = got.output;
  const needsDecision = got.output.needsDecision.filter(({ finding }) => category === null || finding.category === category);
  const lines: string[] = [];
  if (category === null) {
    const byCategory = Object.entries(findingsByCategory)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name} ${n}`);
    lines.push(
      `There ${counts.openFindings === 1 ? 'is' : 'are'} ${counts.openFindings} open ${counts.openFindings === 1 ? 'finding' : 'findings'}${byCategory.length > 0 ? ` (${byCategory.join(', ')})` : ''}.`,
      `Observed: ${counts.calls} LLM calls in ${counts.sessions} sessions across ${counts.assets} assets.`,
      `Enforcement: ${counts.activeRules} active rules, ${counts.enforcementActions} enforcement actions, ${counts.pendingProposals} pending proposals.`,
    );
  } else {
    const n = findingsByCategory[category];
    lines.push(`There ${n === 1 ? 'is' : 'are'} ${n} open ${category} ${n === 1 ? 'finding' : 'findings'}, out of ${counts.openFindings} open in all.`);
  }
  if (needsDecision.length > 0) {
    lines.push('Needs a decision:');
    for (const { finding: f, suggestedAction } of needsDecision.slice(0, 5)) {
      lines.push(`- ${code(f.id)}: ${f.severity} ${f.category}, ${code(f.title)}${suggestedAction !== null ? `; suggested: ${suggestedAction.label}` : ''}`);
    }
    lines.push('Ask me "why does it matter?" about any of them, or "block it" to propose its suggested action.');
  }
  yield* speak(lines.join('\n'));
  yield { type: 'refs', refs: needsDecision.slice(0, 5).map(({ finding }): AgentRef => ({ kind: 'finding', id: finding.id })) };
  return needsDecision.slice(0, 5).map(({ finding }) => finding.id);
}

async function* explainApproval(tools: ToolClient): AsyncGenerator<ChatEvent> {
  const pending = yield* invoke(tools, 'list_proposals', { status: 'pending' });
  if (!pending.ok) throw pending.error;
  const lines = [
    'I cannot approve, reject or execute actions: I only propose them.',
    'A person with the required role approves or rejects a pending proposal in the Briefing or from an MCP client.',
  ];
  const proposals = pending.output.proposals.slice(0, MAX_LISTED);
  if (proposals.length > 0) {
    lines.push('Pending now:');
    for (const p of proposals) lines.push(`- ${code(p.id)}: ${code(p.title)}`);
  }
  yield* speak(lines.join('\n'));
  if (proposals.length > 0) yield { type: 'refs', refs: proposals.map((p): AgentRef => ({ kind: 'proposal', id: p.id })) };
}

/** JSON with sorted keys, so equal arguments compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v);
}
