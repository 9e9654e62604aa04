import { describe, expect, it } from 'vitest';
import { ChatEvent } from '@higgs/schema';
import type { ChatRequest, Principal } from '@higgs/schema';
import { createRegistry } from '@higgs/tools';
import { createAgent } from './agent.ts';
import type { AgentOptions } from './agent.ts';
import { createAgentFixture, makePrincipal } from './test-fixtures.ts';

function setup(more: Partial<AgentOptions> = {}) {
  const fx = createAgentFixture();
  const errors: unknown[] = [];
  const logged: string[] = [];
  const agent = createAgent({
    registry: createRegistry(fx.services, { logger: { error: (_context, message) => logged.push(message) } }),
    agentPrincipal: makePrincipal(fx.tenantId, 'agent', 'Higgs agent'),
    onError: (e) => errors.push(e),
    ...more,
  });
  const user = makePrincipal(fx.tenantId, 'security', 'Sam');
  async function chat(req: Partial<ChatRequest> & { message: string }, as: Principal = user) {
    const events: ChatEvent[] = [];
    for await (const event of agent.chat({ context: {}, ...req }, as)) events.push(ChatEvent.parse(event));
    const answer = events.flatMap((e) => (e.type === 'text' ? [e.delta] : [])).join('');
    const proposals = events.flatMap((e) => (e.type === 'proposal' ? [e.proposal] : []));
    const toolNames = events.flatMap((e) => (e.type === 'tool_call' ? [e.name] : []));
    return { events, answer, proposals, toolNames };
  }
  return { fx, agent, user, chat, errors, logged };
}

describe('createAgent', () => {
  it('streams a framed turn over MCP: start, tool calls, text, refs, proposal, done', async () => {
    const { fx, agent, chat } = setup();
    try {
      const t = await chat({ message: 'why does this finding matter?', conversationId: 'c-1', context: { findingId: fx.ids.pii } });
      expect(t.events[0]).toEqual({ type: 'start', conversationId: 'c-1' });
      expect(t.events.at(-1)).toEqual({ type: 'done' });
      expect(t.toolNames).toEqual(['get_finding', 'list_proposals', 'propose_action', 'search_knowledge']);
      expect(t.answer).toContain('gpt-4o-mini');
      expect(t.proposals[0]).toMatchObject({ tool: 'block_from_finding', status: 'pending' });
    } finally {
      await agent.close();
    }
  });

  it('gives a new conversation an id', async () => {
    const { agent, chat } = setup();
    try {
      const t = await chat({ message: 'hello' });
      expect(t.events[0]).toEqual({ type: 'start', conversationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    } finally {
      await agent.close();
    }
  });

  it('remembers the finding per user and conversation, so "block it" resolves', async () => {
    const { fx, agent, chat } = setup();
    try {
      await chat({ message: 'who triggered it?', conversationId: 'c-1', context: { findingId: fx.ids.shadow } });
      const followUp = await chat({ message: 'block it', conversationId: 'c-1' });
      expect(followUp.proposals[0]).toMatchObject({ findingId: fx.ids.shadow, tool: 'add_inline_rule' });

      const otherConversation = await chat({ message: 'block it', conversationId: 'c-2' });
      expect(otherConversation.answer).toContain('Which finding do you mean?');
      const otherUser = await chat({ message: 'block it', conversationId: 'c-1' }, makePrincipal(fx.tenantId, 'security', 'Ada'));
      expect(otherUser.answer).toContain('Which finding do you mean?');
    } finally {
      await agent.close();
    }
  });

  it('forgets a conversation idle past its time to live', async () => {
    let clock = new Date('2025-03-05T10:00:00.000Z');
    const { fx, agent, chat } = setup({ now: () => clock, conversationTtlMs: 60_000 });
    try {
      await chat({ message: 'who triggered it?', conversationId: 'c-1', context: { findingId: fx.ids.pii } });
      clock = new Date(clock.getTime() + 60_001);
      expect((await chat({ message: 'block it', conversationId: 'c-1' })).answer).toContain('Which finding do you mean?');
    } finally {
      await agent.close();
    }
  });

  it('with a key, answers through the model API; an unreachable one is a generic error event with its cause logged', async () => {
    // a closed loopback port: the SDK's request fails without leaving the machine
    const { fx, agent, chat, errors } = setup({ anthropic: { apiKey: 'sk-ant-test', model: 'claude-sonnet-5-5', baseURL: 'http://127.0.0.1:9' } });
    try {
      const t = await chat({ message: 'who triggered it?', context: { findingId: fx.ids.pii } });
      expect(t.events.at(-1)).toEqual({ type: 'error', message: 'The model API failed; try again, or unset the key to use the offline planner.' });
      expect(fx.serviceCalls).toEqual([]);
      expect(errors).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('refuses a user of another tenant before calling any tool', async () => {
    const { fx, agent, chat, errors } = setup();
    try {
      const t = await chat({ message: 'why does the PII finding matter?' }, makePrincipal('tenant-other', 'admin'));
      expect(t.events.map((e) => e.type)).toEqual(['start', 'error']);
      expect(fx.serviceCalls).toEqual([]);
      expect(errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    } finally {
      await agent.close();
    }
  });

  it('ends a stream started after close() with an error event', async () => {
    const { agent, chat, errors } = setup();
    await chat({ message: 'hello' });
    await agent.close();
    const t = await chat({ message: 'hello' });
    expect(t.events.map((e) => e.type)).toEqual(['start', 'error']);
    expect(errors).toEqual([expect.objectContaining({ code: 'CLOSED' })]);
  });

  it('reports a service fault as a generic error event and hands the cause to onError', async () => {
    const { fx, agent, chat, errors, logged } = setup();
    const cause = new Error('database is down');
    fx.services.getFinding = () => Promise.reject(cause);
    try {
      const t = await chat({ message: 'explain this', context: { findingId: fx.ids.pii } });
      const last = t.events.at(-1);
      expect(last).toEqual({ type: 'error', message: 'A tool failed; the agent stopped.' });
      expect(JSON.stringify(t.events)).not.toContain('database is down');
      expect(errors).toEqual([expect.objectContaining({ code: 'TOOL_FAILED', toolCode: 'INTERNAL' })]);
      expect(logged).toEqual(['tool handler failed']);
    } finally {
      await agent.close();
    }
  });
});
