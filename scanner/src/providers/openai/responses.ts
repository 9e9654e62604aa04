import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { SseDecoder } from '../sse.ts';
import { int, isRecord, type ParsedRequest, type ParsedResponse, type ProviderParser, str, type StreamParser, UnparsableBody } from '../types.ts';
import { openaiParser } from './index.ts';

/**
 * OpenAI Responses API (`POST /v1/responses`): `input` as a string or a list
 * of items (messages, `function_call`, `function_call_output`), `instructions`,
 * `tools`; the JSON `response` object and its typed SSE events
 * (`response.output_text.delta`, `response.function_call_arguments.delta`,
 * `response.completed` …). https://platform.openai.com/docs/api-reference/responses
 */
export const openaiResponsesParser: ProviderParser = {
  provider: 'openai',

  endpointFor(method, path) {
    const p = path.split('?')[0]!;
    // /v1/responses on OpenAI, /openai/v1/responses and /openai/responses on Azure
    return method === 'POST' && /(?:^|\/)responses$/.test(p) ? 'responses' : null;
  },

  parseRequest(endpoint, body) {
    if (!isRecord(body) || (typeof body.input !== 'string' && !Array.isArray(body.input))) throw new UnparsableBody('response request without input');
    const system: string[] = [];
    const instructions = str(body.instructions);
    if (instructions) system.push(instructions);
    const messages: ChatMessage[] = [];
    const toolNamesByCallId = new Map<string, string>();
    const items: unknown[] = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
    for (const item of items) {
      if (!isRecord(item)) throw new UnparsableBody('input item is not an object');
      const type = str(item.type) ?? 'message';
      if (type === 'message') {
        const role = str(item.role);
        const text = partsText(item.content);
        if (role === 'system' || role === 'developer') {
          if (text) system.push(text);
        } else if (role === 'user' || role === 'assistant') {
          messages.push({ role, content: text });
        } else {
          throw new UnparsableBody(`unknown input role ${String(role)}`);
        }
      } else if (type === 'function_call') {
        const name = str(item.name) ?? '';
        const callId = str(item.call_id);
        if (callId) toolNamesByCallId.set(callId, name);
        messages.push({ role: 'assistant', content: str(item.arguments) ?? '', toolName: name });
      } else if (type === 'function_call_output') {
        const name = toolNamesByCallId.get(str(item.call_id) ?? '');
        const output = typeof item.output === 'string' ? item.output : partsText(item.output);
        messages.push({ role: 'tool', content: output, ...(name ? { toolName: name } : {}) });
      }
      // reasoning, item_reference, web/file search call items carry no prompt text of their own
    }
    const tools: string[] = [];
    for (const t of Array.isArray(body.tools) ? body.tools : []) {
      if (!isRecord(t)) continue;
      const name = str(t.name) ?? (t.type === 'function' ? null : str(t.type));
      if (name) tools.push(name);
    }
    const parsed: ParsedRequest = {
      provider: 'openai',
      endpoint,
      model: str(body.model),
      stream: body.stream === true,
      system: system.length > 0 ? system.join('\n') : null,
      messages,
      tools,
      providerUser: str(body.safety_identifier) ?? str(body.user),
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (isRecord(body.error) && body.object !== 'response') {
      return { content: null, finishReason: null, toolCalls: [], usage: null, error: str(body.error.message) ?? str(body.error.code) ?? 'error' };
    }
    return fromResponseObject(body);
  },

  streamParser(): StreamParser {
    let text: string | null = null;
    const calls = new Map<number, ToolUse>();
    let final: ParsedResponse | null = null;
    let error: string | null = null;
    const decoder = new SseDecoder(({ data }) => {
      let e: unknown;
      try {
        e = JSON.parse(data);
      } catch {
        return; // a malformed event does not stop the relay or the rest of the parse
      }
      if (!isRecord(e)) return;
      switch (e.type) {
        case 'response.output_text.delta':
          if (typeof e.delta === 'string') text = (text ?? '') + e.delta;
          break;
        case 'response.output_item.added':
          if (isRecord(e.item) && e.item.type === 'function_call') {
            calls.set(int(e.output_index) ?? calls.size, { id: str(e.item.call_id), name: str(e.item.name) ?? '', input: str(e.item.arguments) ?? '' });
          }
          break;
        case 'response.function_call_arguments.delta': {
          const call = calls.get(int(e.output_index) ?? -1);
          if (call && typeof e.delta === 'string') call.input += e.delta;
          break;
        }
        case 'response.completed':
        case 'response.incomplete':
        case 'response.failed':
          if (isRecord(e.response)) final = fromResponseObject(e.response);
          break;
        case 'error':
          error = str(e.message) ?? str(e.code) ?? 'error';
          break;
      }
    });
    return {
      push: (t) => decoder.push(t),
      end: () => {
        decoder.end();
        // the terminal event repeats the whole response; the deltas stand in when the stream was cut before it
        const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
        if (final) return { ...final, content: final.content ?? text, error: final.error ?? error };
        return { content: text, finishReason: null, toolCalls, usage: null, error };
      },
    };
  },

  redactRequest(body, redact) {
    if (!isRecord(body)) return body;
    const out: Record<string, unknown> = { ...body };
    if (typeof body.instructions === 'string') out.instructions = redact(body.instructions);
    if (typeof body.input === 'string') out.input = redact(body.input);
    else if (Array.isArray(body.input)) {
      out.input = body.input.map((item) => {
        if (!isRecord(item)) return item;
        const copy: Record<string, unknown> = { ...item };
        if ('content' in item) copy.content = redactParts(item.content, redact);
        if (typeof item.arguments === 'string') copy.arguments = redact(item.arguments);
        if ('output' in item) copy.output = redactParts(item.output, redact);
        return copy;
      });
    }
    return out;
  },

  // the Responses API answers errors in the same envelope as chat completions
  blockedResponse: (b) => openaiParser.blockedResponse(b),
};

function fromResponseObject(r: Record<string, unknown>): ParsedResponse {
  const texts: string[] = [];
  const toolCalls: ToolUse[] = [];
  for (const item of Array.isArray(r.output) ? r.output : []) {
    if (!isRecord(item)) continue;
    if (item.type === 'message') {
      for (const part of Array.isArray(item.content) ? item.content : []) {
        if (isRecord(part) && part.type === 'output_text' && typeof part.text === 'string') texts.push(part.text);
        else if (isRecord(part) && part.type === 'refusal' && typeof part.refusal === 'string') texts.push(part.refusal);
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: str(item.call_id), name: str(item.name) ?? '', input: str(item.arguments) ?? '' });
    }
  }
  const incomplete = isRecord(r.incomplete_details) ? str(r.incomplete_details.reason) : null;
  const failed = isRecord(r.error) ? str(r.error.message) ?? str(r.error.code) ?? 'error' : null;
  return {
    content: texts.length > 0 ? texts.join('') : null,
    // the API has no finish_reason: the status (completed | incomplete | failed), or why it is incomplete
    finishReason: incomplete ?? str(r.status),
    toolCalls,
    usage: responsesUsage(r.usage),
    error: failed,
  };
}

function responsesUsage(u: unknown): Usage | null {
  if (!isRecord(u)) return null;
  const input = int(u.input_tokens);
  const output = int(u.output_tokens);
  if (input === null || output === null) return null;
  const cached = isRecord(u.input_tokens_details) ? int(u.input_tokens_details.cached_tokens) : null;
  return { inputTokens: input, outputTokens: output, ...(cached !== null ? { cachedTokens: cached } : {}) };
}

/** Text of a content value: a string or a list of `input_text` / `output_text` / `refusal` parts. */
function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new UnparsableBody('content is neither a string nor a list of parts');
  const texts: string[] = [];
  for (const p of content) {
    if (isRecord(p) && typeof p.text === 'string') texts.push(p.text);
    else if (isRecord(p) && typeof p.refusal === 'string') texts.push(p.refusal);
  }
  return texts.join('\n');
}

function redactParts(content: unknown, redact: (text: string) => string): unknown {
  if (typeof content === 'string') return redact(content);
  if (!Array.isArray(content)) return content;
  return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? { ...p, text: redact(p.text) } : p));
}
