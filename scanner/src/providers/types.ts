import type { ChatMessage, Provider, ToolUse, Usage } from '@higgs/schema';

/** A request body understood by a provider parser. Text is raw here; it is masked before it is recorded. */
export interface ParsedRequest {
  provider: Provider;
  endpoint: string;
  model: string | null;
  stream: boolean;
  /** system / developer instructions, joined */
  system: string | null;
  /** the conversation without the system part, tool calls and results included (toolName set) */
  messages: ChatMessage[];
  /** names of the tools the request declares */
  tools: string[];
  /** the provider's own end-user field (OpenAI `user`/`safety_identifier`, Anthropic `metadata.user_id`) */
  providerUser: string | null;
}

/** What the provider answered, normalised. */
export interface ParsedResponse {
  content: string | null;
  finishReason: string | null;
  toolCalls: ToolUse[];
  usage: Usage | null;
  /** the provider's error message, when it answered with one */
  error: string | null;
}

/** Consumes a streamed (SSE) response as it passes through. */
export interface StreamParser {
  push(text: string): void;
  /**
   * present on parsers of a binary framing (AWS event-stream): the proxy then
   * feeds the raw bytes here instead of decoded text to `push`
   */
  pushBytes?(chunk: Uint8Array): void;
  end(): ParsedResponse;
}

/** The body of a synthetic refusal, shaped like the provider's own errors so SDKs raise their usual error type. */
export interface BlockedBody {
  message: string;
  ruleId: string | null;
  decisionId: string;
}

export interface ProviderParser {
  provider: Provider;
  /** the endpoint name for a request path, or null when this parser does not understand the path */
  endpointFor(method: string, path: string): string | null;
  /**
   * throws on a body this parser does not understand. `path` (with query) is
   * passed by the proxy: Bedrock and Gemini carry the model and whether the
   * call streams in the path, not the body.
   */
  parseRequest(endpoint: string, body: unknown, path?: string): ParsedRequest;
  parseResponse(body: unknown): ParsedResponse;
  streamParser(): StreamParser;
  /** applies `redact` to every prompt string of the body, returning a new body */
  redactRequest(body: unknown, redact: (text: string) => string): unknown;
  blockedResponse(b: BlockedBody): unknown;
}

export class UnparsableBody extends Error {
  override readonly name = 'UnparsableBody';
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
