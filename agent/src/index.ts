export { createAgent } from './agent.ts';
export { DEFAULT_AGENT_MODEL } from './claude-loop.ts';
export type { Agent, AgentOptions } from './agent.ts';
export { AGENT_ERROR_CODES, AgentError } from './errors.ts';
export type { AgentErrorCode } from './errors.ts';
export { groundedness } from './grounding.ts';
export type { Groundedness } from './grounding.ts';
export type { ConversationKey, ConversationState, ConversationStore } from './conversations.ts';
