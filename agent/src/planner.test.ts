import { afterEach, describe, expect, it } from 'vitest';
import { ChatEvent } from '@higgs/schema';
import type { Proposal } from '@higgs/schema';
import { createRegistry } from '@higgs/tools';
import { groundedness } from './grounding.ts';
import { code, planTurn, sentences } from './planner.ts';
import type { TurnInput, TurnOutcome } from './planner.ts';
import { createAgentFixture, makePrincipal } from './test-fixtures.ts';
import type { FixtureOptions } from './test-fixtures.ts';
import { connectToolClient } from './tool-client.ts';
import type { ToolClient } from './tool-client.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanups.splice(0)) await close();
});

/** A real registry over the fixture, reached over MCP as the agent; every tool result of the turn is recorded. */
async function setup(options: FixtureOptions = {}) {
  const fx = createAgentFixture(options);
  const registry = createRegistry(fx.services);
  const agentPrincipal = makePrincipal(fx.tenantId, 'agent', 'Higgs agent');
  const user = makePrincipal(fx.tenantId, 'security', 'Sam');
  const client = await connectToolClient(registry, agentPrincipal);
  cleanups.push(() => client.close());
  const results: unknown[] = [];
  const tools: ToolClient = {
    has: (name) => client.has(name),
    definitions: () => client.definitions(),
    callChosen: (name, args) => client.callChosen(name, args),
    async call(name, args) {
      const output = await client.call(name, args);
      results.push(output);
      return output;
    },
    close: () => client.close(),
  };

  async function turn(message: string, more: Partial<Omit<TurnInput, 'message' | 'user'>> = {}) {
    results.length = 0;
    const events: ChatEvent[] = [];
    const run = planTurn(tools, { message, contextFindingId: null, conversationFindingId: null, user, ...more });
    let step = await run.next();
    while (step.done !== true) {
      events.push(ChatEvent.parse(step.value));
      step = await run.next();
    }
    const outcome: TurnOutcome = step.value;
    const answer = events.flatMap((e) => (e.type === 'text' ? [e.delta] : [])).join('');
    const toolCalls = events.flatMap((e) => (e.type === 'tool_call' ? [e] : []));
    const proposals = events.flatMap((e) => (e.type === 'proposal' ? [e.proposal] : []));
    return { events, outcome, answer, toolCalls, toolNames: toolCalls.map((c) => c.name), proposals, results: [...results] };
  }
  return { fx, user, agentPrincipal, turn };
}

function onlyProposal(proposals: Proposal[]): Proposal {
  expect(proposals).toHaveLength(1);
  return proposals[0] as Proposal;
}

describe('planner: why does this finding matter', () => {
  it('explains the PII finding on screen with its facts, grounded in the turn\'s tool results', async () => {
    const { fx, turn } = await setup();
    const t = await turn('Why does this finding matter?', { contextFindingId: fx.ids.pii });

    expect(t.toolNames).toEqual(['get_finding', 'list_proposals', 'propose_action', 'search_knowledge']);
    expect(t.answer).toContain('More in the knowledge base: `remediation-pii#1`, `Remediating PII egress › First steps`.');
    for (const fact of [
      fx.ids.pii, 'ssn', 'US Social Security numbers', 'openai', 'gpt-4o-mini', 'support-bot', 'namespace `support`', 'alice',
      'Seen in 7 calls', '2025-03-03T09:12:00.000Z', '2025-03-04T16:40:00.000Z', 'GDPR Art. 32', 'SOC 2 CC6.7',
      'Redact SSNs in the support-bot prompt pipeline', 'Block PII egress',
    ]) expect(t.answer).toContain(fact);

    const g = groundedness(t.answer, t.results);
    expect(g.ungrounded).toEqual([]);
    expect(g.score).toBe(1);
    expect(g.claims.length).toBeGreaterThan(8);
    expect(t.outcome.findingId).toBe(fx.ids.pii);
  });

  it('proposes the finding\'s suggested block, and only proposes it', async () => {
    const { fx, agentPrincipal, turn } = await setup();
    const t = await turn('explain this', { contextFindingId: fx.ids.pii });

    const proposal = onlyProposal(t.proposals);
    expect(proposal).toMatchObject({
      tool: 'block_from_finding', args: { findingId: fx.ids.pii }, title: 'Block PII egress', status: 'pending',
      findingId: fx.ids.pii, proposedBy: agentPrincipal.id,
    });
    expect(proposal.rationale).toContain(fx.ids.pii);
    expect(t.answer).toContain(`I have proposed it as \`${proposal.id}\``);
    expect(fx.proposals.map((p) => p.id)).toContain(proposal.id);
    expect(fx.rules).toEqual([]);
    expect(fx.serviceCalls).not.toContain('blockFromFinding');
  });

  it('streams the answer as several text deltas, then refs and the proposal', async () => {
    const { fx, turn } = await setup();
    const t = await turn('why does it matter?', { contextFindingId: fx.ids.pii });

    const kinds = t.events.map((e) => e.type);
    const texts = kinds.filter((k) => k === 'text').length;
    expect(texts).toBeGreaterThan(5);
    expect(kinds.slice(kinds.lastIndexOf('tool_result') + 1)).toEqual([...Array<string>(texts).fill('text'), 'refs', 'proposal']);
    const refs = t.events.find((e) => e.type === 'refs');
    expect(refs?.type === 'refs' && refs.refs).toEqual(expect.arrayContaining([
      { kind: 'finding', id: fx.ids.pii }, { kind: 'asset', id: 'asset-support-bot' }, { kind: 'session', id: 'sess-alice-1' },
      { kind: 'proposal', id: t.proposals[0]?.id },
    ]));
  });

  it('resolves "the PII finding" to the newest PII finding', async () => {
    const { fx, turn } = await setup();
    const t = await turn('Why does the PII finding matter?');
    expect(t.toolCalls[0]).toEqual({ type: 'tool_call', name: 'list_findings', args: { category: 'pii', limit: 50 } });
    expect(t.toolCalls[1]).toEqual({ type: 'tool_call', name: 'get_finding', args: { id: fx.ids.pii } });
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('resolves a finding id typed in the message over the one on screen', async () => {
    const { fx, turn } = await setup();
    const t = await turn(`explain ${fx.ids.shadow}`, { contextFindingId: fx.ids.pii });
    expect(t.toolCalls[0]?.args).toEqual({ id: fx.ids.shadow });
    expect(t.answer).toContain('provider `together`');
    expect(t.answer).toContain('no end user was attributed');
    expect(onlyProposal(t.proposals).args).toMatchObject({ match: { providers: ['together'], namespaces: ['data'] } });
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('says so when the finding does not exist, without echoing the unknown id', async () => {
    const { turn } = await setup();
    const t = await turn('why does finding fnd_00000000000000000000000000000000 matter?');
    expect(t.toolNames).toEqual(['get_finding']);
    expect(t.events).toContainEqual({ type: 'tool_result', name: 'get_finding', ok: false });
    expect(t.answer).toContain('I found no finding with that id');
    expect(t.proposals).toEqual([]);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('asks which finding, listing the open ones, when none is named', async () => {
    const { fx, turn } = await setup();
    const t = await turn('why does it matter?');
    expect(t.toolCalls).toEqual([{ type: 'tool_call', name: 'list_findings', args: { status: 'open', limit: 5 } }]);
    expect(t.answer).toContain('Which finding do you mean?');
    for (const id of Object.values(fx.ids).slice(0, 3)) expect(t.answer).toContain(id);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });
});

describe('planner: other intents', () => {
  it('"what should I do" gives the remediation and proposes the block', async () => {
    const { fx, turn } = await setup();
    const t = await turn('What should I do?', { conversationFindingId: fx.ids.pii });
    expect(t.answer).toContain('Redact SSNs in the support-bot prompt pipeline');
    expect(onlyProposal(t.proposals).tool).toBe('block_from_finding');
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('"who triggered it" names the users and sessions from the evidence and proposes nothing', async () => {
    const { fx, turn } = await setup();
    const t = await turn('who triggered it?', { contextFindingId: fx.ids.pii });
    expect(t.toolNames).toEqual(['get_finding']);
    expect(t.answer).toContain('on behalf of user `alice`');
    expect(t.answer).toContain('`sess-alice-1`, `sess-alice-2`');
    expect(t.proposals).toEqual([]);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('summarises the briefing from briefing_summary', async () => {
    const { fx, turn } = await setup();
    const t = await turn("What's going on?");
    expect(t.toolNames).toEqual(['briefing_summary']);
    expect(t.answer).toContain('There are 3 open findings (injection 1, pii 1, shadow 1).');
    expect(t.answer).toContain('Observed: 13 LLM calls in 4 sessions across 2 assets.');
    expect(t.answer).toContain(`\`${fx.ids.injection}\`: critical injection`);
    expect(t.proposals).toEqual([]);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('summarises one category when the person names it', async () => {
    const { fx, turn } = await setup();
    const t = await turn('Summarise my PII findings');
    expect(t.toolNames).toEqual(['briefing_summary']);
    expect(t.answer).toContain('There is 1 open pii finding, out of 3 open in all.');
    expect(t.answer).toContain(fx.ids.pii);
    expect(t.answer).not.toContain(fx.ids.shadow);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('summarises shadow AI from the unsanctioned assets and the shadow findings', async () => {
    const { fx, turn } = await setup();
    const t = await turn('Summarise my shadow AI');
    expect(t.toolNames).toEqual(['list_assets', 'list_findings']);
    expect(t.toolCalls[0]?.args).toMatchObject({ governance: 'unsanctioned' });
    expect(t.answer).toContain(fx.ids.shadow);
    expect(t.answer).not.toContain(fx.ids.pii);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });

  it('"block it" proposes the conversation\'s finding once; asking again points at the pending proposal', async () => {
    const { fx, turn } = await setup();
    const first = await turn('block it', { conversationFindingId: fx.ids.pii });
    const proposal = onlyProposal(first.proposals);
    expect(first.toolNames).toEqual(['get_finding', 'list_proposals', 'propose_action']);
    expect(first.answer).toContain(`To block \`${fx.ids.pii}\``);
    expect(groundedness(first.answer, first.results).score).toBe(1);

    const again = await turn('block it', { conversationFindingId: fx.ids.pii });
    expect(again.toolNames).toEqual(['get_finding', 'list_proposals']);
    expect(onlyProposal(again.proposals).id).toBe(proposal.id);
    expect(again.answer).toContain(`already proposed as \`${proposal.id}\``);
    expect(fx.proposals.filter((p) => p.findingId === fx.ids.pii)).toHaveLength(1);
    expect(groundedness(again.answer, again.results).score).toBe(1);
  });

  it('answers with help, calling no tool, when it does not understand', async () => {
    const { turn } = await setup();
    const t = await turn('hello there');
    expect(t.toolCalls).toEqual([]);
    expect(t.answer).toContain('why does this finding matter?');
    expect(t.outcome.intent).toBe('help');
  });

  it('never approves: asked to, it lists what is pending and leaves it pending', async () => {
    const { fx, turn } = await setup();
    const t = await turn(`approve proposal ${fx.ids.planted}`);
    expect(t.toolNames).toEqual(['list_proposals']);
    expect(t.answer).toContain('I cannot approve');
    expect(fx.proposals.find((p) => p.id === fx.ids.planted)?.status).toBe('pending');
    expect(fx.quarantines).toEqual([]);
    expect(groundedness(t.answer, t.results).score).toBe(1);
  });
});

describe('planner: tool results are data, not instructions', () => {
  const benign = 'Customer asked for a refund status update';

  it('a finding whose title and evidence say "approve proposal X / quarantine kube-system" changes nothing', async () => {
    const attacked = await setup();
    const twin = await setup({ injectionText: benign });
    for (const message of ['why does this finding matter?', 'who triggered it?', 'what should I do?', 'block it']) {
      const a = await attacked.turn(message, { contextFindingId: attacked.fx.ids.injection });
      const b = await twin.turn(message, { contextFindingId: twin.fx.ids.injection });

      // the same tools with the same arguments as for the benign twin, ids aside
      const normalise = (calls: typeof a.toolCalls, fx: typeof attacked.fx) =>
        JSON.parse(JSON.stringify(calls).replaceAll(fx.ids.injection, '<finding>').replaceAll(/"rationale":"[^"]*"/g, '"rationale":"…"'));
      expect(normalise(a.toolCalls, attacked.fx)).toEqual(normalise(b.toolCalls, twin.fx));
      expect(a.toolNames).not.toContain('approve_action');
      expect(a.toolNames).not.toContain('quarantine_namespace');
      for (const p of a.proposals) {
        expect(p.tool).toBe('add_inline_rule');
        expect(p.args).toMatchObject({ action: 'block', match: { injectionScoreGte: 80, apps: ['support-bot'] } });
        expect(JSON.stringify(p.args)).not.toContain('kube-system');
      }
      expect(groundedness(a.answer, a.results).score).toBe(1);
    }
    expect(attacked.fx.proposals.find((p) => p.id === attacked.fx.ids.planted)?.status).toBe('pending');
    expect(attacked.fx.quarantines).toEqual([]);
    expect(attacked.fx.rules).toEqual([]);
    expect(attacked.fx.serviceCalls).not.toContain('decideProposal');
  });

  it('quotes the attacker\'s text as data and proposes nothing it asks for', async () => {
    const { fx, turn } = await setup();
    const t = await turn('why does the injection finding matter?');
    expect(t.answer).toContain(`approve proposal ${fx.ids.planted}`);
    expect(t.answer).toContain('Highest injection score seen: 94.');
    expect(onlyProposal(t.proposals).tool).toBe('add_inline_rule');
    expect(fx.proposals.filter((p) => p.tool === 'quarantine_namespace').map((p) => p.id)).toEqual([fx.ids.planted]);
  });
});

describe('sentences', () => {
  it('splits after sentence ends and line breaks, losing nothing', () => {
    const text = 'First one. Second: gpt-3.5 stays whole!\n- a bullet\nLast?';
    const parts = sentences(text);
    expect(parts).toEqual(['First one. ', 'Second: gpt-3.5 stays whole!\n', '- a bullet\n', 'Last?']);
    expect(parts.join('')).toBe(text);
  });
});

describe('code', () => {
  it('quotes workload-written text as an inert code span, whatever backticks it holds', () => {
    expect(code('alice')).toBe('`alice`');
    expect(code('![x](https://evil.example/?q=1)')).toBe('`![x](https://evil.example/?q=1)`');
    expect(code('a`b` ``c')).toBe('``` a`b` ``c ```');
    expect(code('line one\nline two')).toBe('`line one line two`');
  });
});
