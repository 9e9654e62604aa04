import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { SseDecoder } from '../sse.ts';
import {
  type BlockedBody, int, isRecord, type ParsedRequest, type ParsedResponse, type ProviderParser, str, type StreamParser,
  UnparsableBody,
} from '../types.ts';
import { jsonText } from '../json-walk.ts';

/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`): request, JSON
 * response and the `chat.completion.chunk` SSE stream.
 * https://platform.openai.com/docs/api-reference/chat
 */
export const openaiParser: ProviderParser = {
  provider: 'openai',

  endpointFor(method, path) {
    const p = path.split('?')[0]!;
    return method === 'POST' && /(?:^|\/)chat\/completions$/.test(p) ? 'chat' : null;
  },

  parseRequest(endpoint, body) {
    if (!isRecord(body) || !Array.isArray(body.messages)) throw new UnparsableBody('chat completion without messages[]');
    const system: string[] = [];
    const messages: ChatMessage[] = [];
    const toolNamesById = new Map<string, string>();
    for (const m of body.messages) {
      if (!isRecord(m)) throw new UnparsableBody('message is not an object');
      const role = str(m.role);
      const text = contentText(m.content);
      if (role === 'system' || role === 'developer') {
        if (text) system.push(text);
      } else if (role === 'user') {
        messages.push({ role: 'user', content: text });
      } else if (role === 'assistant') {
        if (text) messages.push({ role: 'assistant', content: text });
        for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
          const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
          const name = str(fn?.name);
          if (!name) continue;
          const id = str((call as Record<string, unknown>).id);
          if (id) toolNamesById.set(id, name);
          messages.push({ role: 'assistant', content: argumentsText(fn?.arguments), toolName: name });
        }
      } else if (role === 'tool' || role === 'function') {
        const name = str(m.name) ?? toolNamesById.get(str(m.tool_call_id) ?? '') ?? undefined;
        messages.push({ role: 'tool', content: text, ...(name ? { toolName: name } : {}) });
      } else {
        throw new UnparsableBody(`unknown message role ${String(role)}`);
      }
    }
    const tools: string[] = [];
    for (const t of Array.isArray(body.tools) ? body.tools : []) {
      const name = isRecord(t) && isRecord(t.function) ? str(t.function.name) : null;
      if (name) tools.push(name);
    }
    for (const f of Array.isArray(body.functions) ? body.functions : []) {
      const name = isRecord(f) ? str(f.name) : null;
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
      providerUser: str(body.user) ?? str(body.safety_identifier),
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (isRecord(body.error)) return errorResponse(body.error);
    const choice = Array.isArray(body.choices) && isRecord(body.choices[0]) ? body.choices[0] : null;
    const message = choice && isRecord(choice.message) ? choice.message : null;
    const toolCalls: ToolUse[] = [];
    for (const call of Array.isArray(message?.tool_calls) ? message.tool_calls : []) {
      if (isRecord(call) && isRecord(call.function)) {
        toolCalls.push({ id: str(call.id), name: str(call.function.name) ?? '', input: argumentsText(call.function.arguments, jsonText) });
      }
    }
    return {
      content: message ? str(message.content) ?? (str(message.refusal) ?? null) : null,
      finishReason: choice ? str(choice.finish_reason) : null,
      toolCalls,
      usage: usage(body.usage),
      error: null,
    };
  },

  streamParser(): StreamParser {
    let content: string | null = null;
    let finishReason: string | null = null;
    let use: Usage | null = null;
    let error: string | null = null;
    const calls = new Map<number, ToolUse>();
    const decoder = new SseDecoder(({ data }) => {
      if (data === '[DONE]') return;
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return; // a malformed event does not stop the relay or the rest of the parse
      }
      if (!isRecord(chunk)) return;
      if (isRecord(chunk.error)) error = str(chunk.error.message) ?? 'error';
      use = usage(chunk.usage) ?? use;
      for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
        if (!isRecord(choice) || (choice.index !== undefined && choice.index !== 0)) continue;
        finishReason = str(choice.finish_reason) ?? finishReason;
        const delta = isRecord(choice.delta) ? choice.delta : null;
        // Mistral streams content as a string or as an array of chunks
        const text = typeof delta?.content === 'string' ? delta.content : Array.isArray(delta?.content) ? contentText(delta.content) : null;
        if (text !== null) content = (content ?? '') + text;
        for (const tc of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
          if (!isRecord(tc)) continue;
          const index = int(tc.index) ?? 0;
          const call = calls.get(index) ?? { id: null, name: '', input: '' };
          call.id = str(tc.id) ?? call.id;
          const fn = isRecord(tc.function) ? tc.function : null;
          call.name += str(fn?.name) ?? '';
          call.input += fn?.arguments === undefined || fn.arguments === null ? '' : argumentsText(fn.arguments, jsonText);
          calls.set(index, call);
        }
      }
    });
    return {
      push: (text) => decoder.push(text),
      end: () => {
        decoder.end();
        const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
        return { content, finishReason, toolCalls, usage: use, error };
      },
    };
  },

  redactRequest(body, redact) {
    if (!isRecord(body) || !Array.isArray(body.messages)) return body;
    return {
      ...body,
      messages: body.messages.map((m) => {
        if (!isRecord(m)) return m;
        const out: Record<string, unknown> = { ...m };
        if (typeof m.content === 'string') out.content = redact(m.content);
        else if (Array.isArray(m.content)) {
          out.content = m.content.map((p) => (isRecord(p) && typeof p.text === 'string' ? { ...p, text: redact(p.text) } : p));
        }
        if (Array.isArray(m.tool_calls)) {
          out.tool_calls = m.tool_calls.map((c) => {
            if (!isRecord(c) || !isRecord(c.function)) return c;
            const args = c.function.arguments;
            if (typeof args === 'string') return { ...c, function: { ...c.function, arguments: redact(args) } };
            // Mistral accepts arguments as an object: redact its JSON text, keep the object form
            if (isRecord(args)) return { ...c, function: { ...c.function, arguments: redactJson(args, redact) } };
            return c;
          });
        }
        return out;
      }),
    };
  },

  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    return {
      error: {
        message,
        type: 'higgs_policy_violation',
        param: null,
        code: 'higgs_blocked',
        higgs: { rule_id: ruleId, decision_id: decisionId },
      },
    };
  },
};

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new UnparsableBody('content is neither a string nor an array of parts');
  const parts: string[] = [];
  for (const p of content) {
    if (isRecord(p) && typeof p.text === 'string') parts.push(p.text);
    else if (isRecord(p) && typeof p.refusal === 'string') parts.push(p.refusal);
  }
  return parts.join('\n');
}

/**
 * Tool-call arguments as text: OpenAI sends a JSON string, Mistral may send the object itself. In a
 * request (inspected) an object too deep to stringify throws, so the body is recorded unparsed; in
 * an answer (`jsonText`) it becomes a marker and the rest of the answer is read.
 */
function argumentsText(args: unknown, stringify: (v: unknown) => string = JSON.stringify): string {
  if (typeof args === 'string') return args;
  return isRecord(args) || Array.isArray(args) ? stringify(args) : '';
}

function redactJson(value: Record<string, unknown>, redact: (text: string) => string): unknown {
  const text = redact(JSON.stringify(value));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // a redaction that broke the JSON still goes out redacted, as the string form the API also accepts
  }
}

function usage(u: unknown): Usage | null {
  if (!isRecord(u)) return null;
  const input = int(u.prompt_tokens);
  const output = int(u.completion_tokens);
  if (input === null || output === null) return null;
  const cached = isRecord(u.prompt_tokens_details) ? int(u.prompt_tokens_details.cached_tokens) : null;
  return { inputTokens: input, outputTokens: output, ...(cached !== null ? { cachedTokens: cached } : {}) };
}

function errorResponse(error: Record<string, unknown>): ParsedResponse {
  return { content: null, finishReason: null, toolCalls: [], usage: null, error: str(error.message) ?? str(error.code) ?? 'error' };
}
