/**
 * One question and the agent's streamed answer, folded from `ChatEvent`s. Pure,
 * so the rendering rules (deltas appended, tool steps paired with their
 * results, refs de-duplicated) are unit-tested without a DOM.
 */
import type { AgentRef, ChatEvent, Proposal } from '@higgs/schema';

export interface ToolStep {
  name: string;
  status: 'running' | 'ok' | 'failed';
}

export interface ChatTurn {
  id: string;
  question: string;
  /** the finding the question was asked about, if one was selected */
  findingId: string | null;
  answer: string;
  steps: ToolStep[];
  refs: AgentRef[];
  proposals: Proposal[];
  status: 'streaming' | 'done' | 'error';
  error: string | null;
  /** model tokens the answer used, when a model answered */
  usage?: { model: string; inputTokens: number; outputTokens: number; cacheReadTokens: number };
}

export function startTurn(id: string, question: string, findingId: string | null): ChatTurn {
  return { id, question, findingId, answer: '', steps: [], refs: [], proposals: [], status: 'streaming', error: null };
}

export function applyChatEvent(turn: ChatTurn, event: ChatEvent): ChatTurn {
  switch (event.type) {
    case 'start':
      return turn;
    case 'text':
      return { ...turn, answer: turn.answer + event.delta };
    case 'tool_call':
      return { ...turn, steps: [...turn.steps, { name: event.name, status: 'running' }] };
    case 'tool_result': {
      // pair with the earliest still-running call of that name (calls may run in parallel)
      const index = turn.steps.findIndex((s) => s.name === event.name && s.status === 'running');
      const step: ToolStep = { name: event.name, status: event.ok ? 'ok' : 'failed' };
      const steps = index === -1 ? [...turn.steps, step] : turn.steps.map((s, i) => (i === index ? step : s));
      return { ...turn, steps };
    }
    case 'refs': {
      const seen = new Set(turn.refs.map(refKey));
      return { ...turn, refs: [...turn.refs, ...event.refs.filter((r) => !seen.has(refKey(r)) && seen.add(refKey(r)))] };
    }
    case 'proposal':
      return { ...turn, proposals: [...turn.proposals.filter((p) => p.id !== event.proposal.id), event.proposal] };
    case 'usage':
      return { ...turn, usage: { model: event.model, inputTokens: event.inputTokens, outputTokens: event.outputTokens, cacheReadTokens: event.cacheReadTokens } };
    case 'done':
      return { ...turn, status: turn.status === 'error' ? 'error' : 'done' };
    case 'error':
      return { ...turn, status: 'error', error: event.message };
  }
}

/** Ends a turn whose stream broke off (network, bad line) without a `done`. */
export function failTurn(turn: ChatTurn, message: string): ChatTurn {
  return { ...turn, status: 'error', error: message, steps: turn.steps.map((s) => (s.status === 'running' ? { ...s, status: 'failed' } : s)) };
}

function refKey(ref: AgentRef): string {
  return `${ref.kind}:${ref.id}`;
}
