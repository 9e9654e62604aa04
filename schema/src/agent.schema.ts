import { z } from 'zod';
import { Proposal } from './domain.schema.ts';

/** Body of POST /api/agent/chat. */
export const ChatRequest = z.object({
  message: z.string().min(1).max(8000),
  conversationId: z.string().max(64).optional(),
  /** what the person is looking at, so "this finding" resolves */
  context: z.object({ findingId: z.string().optional(), sessionId: z.string().optional() }).default({}),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

export const AgentRef = z.object({ kind: z.enum(['finding', 'session', 'asset', 'rule', 'proposal']), id: z.string() });
export type AgentRef = z.infer<typeof AgentRef>;

/** One line of the NDJSON stream POST /api/agent/chat answers with. */
export const ChatEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), conversationId: z.string() }),
  z.object({ type: z.literal('tool_call'), name: z.string(), args: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('tool_result'), name: z.string(), ok: z.boolean() }),
  z.object({ type: z.literal('text'), delta: z.string() }),
  z.object({ type: z.literal('proposal'), proposal: Proposal }),
  z.object({ type: z.literal('refs'), refs: z.array(AgentRef) }),
  /** what the turn cost in model tokens (the Claude loop; the offline planner uses none) */
  z.object({
    type: z.literal('usage'),
    model: z.string(),
    steps: z.number().int().nonnegative(),
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    cacheReadTokens: z.number().int().nonnegative(),
    cacheWriteTokens: z.number().int().nonnegative(),
  }),
  z.object({ type: z.literal('done') }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type ChatEvent = z.infer<typeof ChatEvent>;
