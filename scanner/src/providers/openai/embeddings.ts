import type { ChatMessage } from '@higgs/schema';
import { int, isRecord, type ParsedRequest, type ProviderParser, str, UnparsableBody } from '../types.ts';
import { openaiParser } from './index.ts';

/**
 * OpenAI embeddings (`POST /v1/embeddings`): `input` is a string, a list of
 * strings, or token ids (recorded as no text). The response is vectors and
 * usage only, so the recorded call has no response text.
 * https://platform.openai.com/docs/api-reference/embeddings
 */
export const openaiEmbeddingsParser: ProviderParser = {
  provider: 'openai',

  endpointFor(method, path) {
    const p = path.split('?')[0]!;
    return method === 'POST' && /(?:^|\/)embeddings$/.test(p) ? 'embeddings' : null;
  },

  parseRequest(endpoint, body) {
    if (!isRecord(body) || !('input' in body)) throw new UnparsableBody('embeddings request without input');
    const inputs = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : null;
    if (inputs === null) throw new UnparsableBody('embeddings input is neither a string nor a list');
    const messages: ChatMessage[] = inputs.filter((i): i is string => typeof i === 'string').map((content) => ({ role: 'user', content }));
    const parsed: ParsedRequest = {
      provider: 'openai', endpoint, model: str(body.model), stream: false, system: null, messages, tools: [], providerUser: str(body.user),
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (isRecord(body.error)) return { content: null, finishReason: null, toolCalls: [], usage: null, error: str(body.error.message) ?? 'error' };
    const u = isRecord(body.usage) ? body.usage : null;
    const input = int(u?.prompt_tokens);
    return { content: null, finishReason: null, toolCalls: [], usage: input === null ? null : { inputTokens: input, outputTokens: 0 }, error: null };
  },

  streamParser() {
    // embeddings never stream; an SSE answer here is recorded as text-less
    return { push: () => {}, end: () => ({ content: null, finishReason: null, toolCalls: [], usage: null, error: null }) };
  },

  redactRequest(body, redact) {
    if (!isRecord(body)) return body;
    if (typeof body.input === 'string') return { ...body, input: redact(body.input) };
    if (Array.isArray(body.input)) return { ...body, input: body.input.map((i) => (typeof i === 'string' ? redact(i) : i)) };
    return body;
  },

  blockedResponse: (b) => openaiParser.blockedResponse(b),
};
