import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { ChatRequest } from '@higgs/schema';
import type { ChatEvent, Principal } from '@higgs/schema';
import type { ToolRegistry } from '@higgs/tools';
import { createConversationStore, type ConversationStore } from './conversations.ts';
import { claudeTurn } from './claude-loop.ts';
import { AgentError } from './errors.ts';
import type { Intent } from './intents.ts';
import { planTurn } from './planner.ts';
import { connectToolClient } from './tool-client.ts';
import type { ToolClient } from './tool-client.ts';

export interface AgentOptions {
  /** the tool registry from `@higgs/tools`; the agent reaches it only through its MCP server */
  registry: ToolRegistry;
  /** kind 'agent', role 'agent': it can read and propose, never act */
  agentPrincipal: Principal;
  /**
   * With a key, Claude answers through the tool-use loop (claude-loop.ts);
   * without, the offline planner. `baseURL` points at a gateway or a test mock;
   * `maxSteps` is the per-turn budget of model calls (default 8).
   */
  anthropic?: { apiKey: string; model: string; baseURL?: string; maxSteps?: number };
  /** Called with each Claude turn's token usage, so the host can record the agent's own cost. */
  onUsage?: (usage: Extract<ChatEvent, { type: 'usage' }>, user: Principal) => void;
  now?: () => Date;
  /** Called with every fault a chat stream reports as an `error` event, so the host can log it with context. */
  onError?: (error: unknown) => void;
  /**
   * Where conversations are kept, per tenant, user and conversation id; the
   * tenant passes its database-backed store. Default: in memory, bounded by
   * `maxConversations` and `conversationTtlMs`.
   */
  conversations?: ConversationStore;
  /** Conversations remembered at once by the in-memory store; the least recently used is forgotten first. Default 1000. */
  maxConversations?: number;
  /** A conversation idle longer than this forgets its finding. Default 24 hours. */
  conversationTtlMs?: number;
}

export interface Agent {
  /**
   * Answers one message as a stream: `start`, then `tool_call`/`tool_result`
   * pairs, `text` deltas, `refs`, an optional `proposal`, and `done` — or an
   * `error` event that ends the stream.
   */
  chat(req: ChatRequest, user: Principal): AsyncIterable<ChatEvent>;
  /** Closes the MCP connection. Streams started afterwards end with an error event. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONVERSATIONS = 1000;
/** Earlier messages (user and assistant) the Claude loop sees: the last few exchanges. */
const MAX_HISTORY = 12;
const DEFAULT_CONVERSATION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Creates the in-tenant agent. It talks to the tools only over MCP, as the
 * agent principal, so it can do exactly what an IDE client with that role can.
 *
 * @example
 * const agent = createAgent({ registry, agentPrincipal });
 * for await (const event of agent.chat({ message: 'why does this finding matter?', context: { findingId } }, user)) send(event);
 */
export function createAgent(opts: AgentOptions): Agent {
  const now = opts.now ?? (() => new Date());
  const conversations = opts.conversations ?? createConversationStore({
    maxConversations: opts.maxConversations ?? DEFAULT_MAX_CONVERSATIONS,
    ttlMs: opts.conversationTtlMs ?? DEFAULT_CONVERSATION_TTL_MS,
  });
  let connection: Promise<ToolClient> | null = null;
  const claude = opts.anthropic
    ? new Anthropic({ apiKey: opts.anthropic.apiKey, ...(opts.anthropic.baseURL ? { baseURL: opts.anthropic.baseURL } : {}), maxRetries: 1 })
    : null;
  let closed = false;

  const tools = (): Promise<ToolClient> => {
    connection ??= connectToolClient(opts.registry, opts.agentPrincipal).catch((error: unknown) => {
      // a failed connect is retried by the next turn, not remembered
      connection = null;
      throw error;
    });
    return connection;
  };

  async function* chat(raw: ChatRequest, user: Principal): AsyncGenerator<ChatEvent> {
    const parsed = ChatRequest.safeParse(raw);
    if (!parsed.success) {
      yield { type: 'error', message: 'The chat request is not valid.' };
      return;
    }
    const req = parsed.data;
    const conversationId = req.conversationId ?? randomUUID();
    yield { type: 'start', conversationId };
    try {
      if (closed) throw new AgentError('CLOSED', 'the agent is closed');
      // the agent reads with its own principal: a user of another tenant must not borrow it
      if (user.tenantId !== opts.agentPrincipal.tenantId) throw new AgentError('FORBIDDEN', 'user is not in the agent\'s tenant');
      const key = { tenantId: user.tenantId, userId: user.id, conversationId };
      const state = await conversations.get(key, now().getTime());
      if (claude !== null && opts.anthropic) {
        const history = state?.history ?? [];
        let outcome: { answer: string; findingId: string | null } | undefined;
        const run = claudeTurn(claude, await tools(), opts.anthropic, {
          message: req.message, history, contextFindingId: req.context.findingId ?? state?.findingId ?? null, user,
        });
        for (let step = await run.next(); ; step = await run.next()) {
          if (step.done === true) {
            outcome = step.value;
            break;
          }
          if (step.value.type === 'usage') opts.onUsage?.(step.value, user);
          yield step.value;
        }
        await conversations.set(key, {
          findingId: outcome.findingId,
          history: [...history, { role: 'user' as const, text: req.message }, { role: 'assistant' as const, text: outcome.answer }].slice(-MAX_HISTORY),
          updatedAt: now().getTime(),
        });
      } else {
        const outcome = yield* planTurn(await tools(), {
          message: req.message,
          contextFindingId: req.context.findingId ?? null,
          conversationFindingId: state?.findingId ?? null,
          user,
          now: now(),
          previousIntent: (state?.intent ?? null) as Intent | null,
          candidates: state?.candidates ?? [],
        });
        await conversations.set(key, { findingId: outcome.findingId, intent: outcome.intent, candidates: outcome.candidates, updatedAt: now().getTime() });
      }
      yield { type: 'done' };
    } catch (error) {
      opts.onError?.(error);
      yield { type: 'error', message: publicMessage(error) };
    }
  }

  return {
    chat,
    async close() {
      closed = true;
      const open = connection;
      connection = null;
      const client = await open?.catch(() => null);
      await client?.close();
    },
  };
}

// Error events reach the browser: say what kind of failure, never internals.
function publicMessage(error: unknown): string {
  if (error instanceof AgentError) {
    switch (error.code) {
      case 'CLOSED': return 'The agent is shutting down.';
      case 'FORBIDDEN': return 'You cannot use this tenant\'s agent.';
      case 'BAD_TOOL_OUTPUT': return 'A tool answered outside its contract; the agent stopped.';
      case 'TOOL_FAILED': return 'A tool failed; the agent stopped.';
    }
  }
  if (error instanceof Anthropic.APIError) return 'The model API failed; try again, or unset the key to use the offline planner.';
  return 'The agent failed unexpectedly.';
}
