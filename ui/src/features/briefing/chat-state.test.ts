import type { ChatEvent, Proposal } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { applyChatEvent, failTurn, startTurn } from './chat-state.ts';

const fold = (events: ChatEvent[]) => events.reduce(applyChatEvent, startTurn('t-1', 'why?', 'f-1'));

const PROPOSAL: Proposal = {
  id: 'p-1',
  tool: 'block_from_finding',
  args: { findingId: 'f-1' },
  argsHash: 'abc',
  title: 'Block PII egress',
  rationale: 'ssn leaves the cluster',
  findingId: 'f-1',
  status: 'pending',
  proposedBy: 'agent',
  createdAt: '2025-01-01T00:00:00.000Z',
  expiresAt: '2025-01-02T00:00:00.000Z',
  decidedBy: null,
  decidedAt: null,
  result: null,
};

describe('applyChatEvent', () => {
  it('appends text deltas in order', () => {
    const turn = fold([{ type: 'text', delta: 'SSNs ' }, { type: 'text', delta: 'leave the cluster.' }, { type: 'done' }]);
    expect(turn.answer).toBe('SSNs leave the cluster.');
    expect(turn.status).toBe('done');
  });

  it('pairs each tool result with its running call', () => {
    const turn = fold([
      { type: 'tool_call', name: 'get_finding', args: { id: 'f-1' } },
      { type: 'tool_call', name: 'replay_session', args: { sessionId: 's-1' } },
      { type: 'tool_result', name: 'replay_session', ok: false },
      { type: 'tool_result', name: 'get_finding', ok: true },
    ]);
    expect(turn.steps).toEqual([
      { name: 'get_finding', status: 'ok' },
      { name: 'replay_session', status: 'failed' },
    ]);
  });

  it('collects refs without duplicates', () => {
    const turn = fold([
      { type: 'refs', refs: [{ kind: 'finding', id: 'f-1' }, { kind: 'rule', id: 'r-1' }] },
      { type: 'refs', refs: [{ kind: 'finding', id: 'f-1' }, { kind: 'session', id: 's-1' }] },
    ]);
    expect(turn.refs.map((r) => `${r.kind}:${r.id}`)).toEqual(['finding:f-1', 'rule:r-1', 'session:s-1']);
  });

  it('keeps proposals and an error, and an error is not overwritten by done', () => {
    const turn = fold([{ type: 'proposal', proposal: PROPOSAL }, { type: 'error', message: 'model unavailable' }, { type: 'done' }]);
    expect(turn.proposals).toEqual([PROPOSAL]);
    expect(turn.status).toBe('error');
    expect(turn.error).toBe('model unavailable');
  });
});

describe('usage', () => {
  it('keeps the model and tokens a Claude turn reports', () => {
    const turn = fold([{ type: 'usage', model: 'claude-sonnet-4-5', steps: 2, inputTokens: 120, outputTokens: 40, cacheReadTokens: 900, cacheWriteTokens: 0 }, { type: 'done' }]);
    expect(turn.usage).toEqual({ model: 'claude-sonnet-4-5', inputTokens: 120, outputTokens: 40, cacheReadTokens: 900 });
    expect(turn.status).toBe('done');
  });
});

describe('failTurn', () => {
  it('marks a cut-off turn failed, and its unfinished tool steps with it', () => {
    const turn = failTurn(fold([{ type: 'tool_call', name: 'get_finding', args: {} }]), 'NETWORK: connection reset');
    expect(turn.status).toBe('error');
    expect(turn.steps).toEqual([{ name: 'get_finding', status: 'failed' }]);
  });
});
