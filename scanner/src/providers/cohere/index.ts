import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { SseDecoder } from '../sse.ts';
import {
  type BlockedBody, int, isRecord, type ParsedRequest, type ProviderParser, str, type StreamParser,
  UnparsableBody,
} from '../types.ts';

/**
 * Cohere v2 chat (`POST /v2/chat` on api.cohere.com): messages with string or
 * part-list content, `tool_calls` / `tool_call_id`, tools; the JSON response
 * (`message.content[]`, `finish_reason`, `usage.billed_units` / `usage.tokens`)
 * and the typed SSE stream (`message-start`, `content-delta`,
 * `tool-call-start` / `-delta`, `message-end` with the usage).
 * https://docs.cohere.com/reference/chat and /reference/chat-stream
 */
export const cohereParser: ProviderParser = {
  provider: 'cohere',

  endpointFor(method, path) {
    return method === 'POST' && path.split('?')[0] === '/v2/chat' ? 'chat' : null;
  },

  parseRequest(endpoint, body) {
    if (!isRecord(body) || !Array.isArray(body.messages)) throw new UnparsableBody('v2 chat without messages[]');
    const system: string[] = [];
    const messages: ChatMessage[] = [];
    const toolNamesById = new Map<string, string>();
    for (const m of body.messages) {
      if (!isRecord(m)) throw new UnparsableBody('message is not an object');
      const role = str(m.role);
      const text = contentText(m.content);
      if (role === 'system') {
        if (text) system.push(text);
      } else if (role === 'user') {
        messages.push({ role: 'user', content: text });
      } else if (role === 'assistant') {
        const plan = str(m.tool_plan);
        if (text || plan) messages.push({ role: 'assistant', content: text || plan! });
        for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
          const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
          const name = str(fn?.name);
          if (!name) continue;
          const id = str((call as Record<string, unknown>).id);
          if (id) toolNamesById.set(id, name);
          messages.push({ role: 'assistant', content: str(fn?.arguments) ?? '', toolName: name });
        }
      } else if (role === 'tool') {
        const name = toolNamesById.get(str(m.tool_call_id) ?? '');
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
    const parsed: ParsedRequest = {
      provider: 'cohere',
      endpoint,
      model: str(body.model),
      stream: body.stream === true,
      system: system.length > 0 ? system.join('\n') : null,
      messages,
      tools,
      providerUser: null, // v2 chat has no end-user field
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    const message = isRecord(body.message) ? body.message : null;
    if (!message && typeof body.message === 'string') return { content: null, finishReason: null, toolCalls: [], usage: null, error: body.message };
    const toolCalls: ToolUse[] = [];
    for (const call of Array.isArray(message?.tool_calls) ? message.tool_calls : []) {
      if (isRecord(call) && isRecord(call.function)) {
        toolCalls.push({ id: str(call.id), name: str(call.function.name) ?? '', input: str(call.function.arguments) ?? '' });
      }
    }
    const text = Array.isArray(message?.content) ? contentText(message.content) : null;
    return { content: text || null, finishReason: str(body.finish_reason), toolCalls, usage: usage(body.usage), error: null };
  },

  streamParser(): StreamParser {
    let content: string | null = null;
    let finishReason: string | null = null;
    let use: Usage | null = null;
    let error: string | null = null;
    const calls = new Map<number, ToolUse>();
    const decoder = new SseDecoder(({ data }) => {
      let e: unknown;
      try {
        e = JSON.parse(data);
      } catch {
        return; // a malformed event (or a [DONE] terminator) does not stop the relay or the parse
      }
      if (!isRecord(e)) return;
      const delta = isRecord(e.delta) ? e.delta : {};
      const message = isRecord(delta.message) ? delta.message : {};
      const index = int(e.index) ?? 0;
      switch (e.type) {
        case 'content-delta': {
          const text = isRecord(message.content) ? str(message.content.text) : null;
          if (text !== null) content = (content ?? '') + text;
          break;
        }
        case 'tool-call-start': {
          const tc = isRecord(message.tool_calls) ? message.tool_calls : {};
          const fn = isRecord(tc.function) ? tc.function : {};
          calls.set(index, { id: str(tc.id), name: str(fn.name) ?? '', input: str(fn.arguments) ?? '' });
          break;
        }
        case 'tool-call-delta': {
          const tc = isRecord(message.tool_calls) ? message.tool_calls : {};
          const args = isRecord(tc.function) ? str(tc.function.arguments) : null;
          const call = calls.get(index);
          if (call && args !== null) call.input += args;
          break;
        }
        case 'message-end':
          finishReason = str(delta.finish_reason) ?? finishReason;
          use = usage(delta.usage) ?? use;
          if (isRecord(delta.error)) error = str(delta.error.message) ?? 'error';
          else if (typeof delta.error === 'string') error = delta.error;
          break;
      }
    });
    return {
      push: (t) => decoder.push(t),
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
        else if (Array.isArray(m.content)) out.content = m.content.map((p) => redactPart(p, redact));
        if (typeof m.tool_plan === 'string') out.tool_plan = redact(m.tool_plan);
        if (Array.isArray(m.tool_calls)) {
          out.tool_calls = m.tool_calls.map((c) => {
            if (!isRecord(c) || !isRecord(c.function) || typeof c.function.arguments !== 'string') return c;
            return { ...c, function: { ...c.function, arguments: redact(c.function.arguments) } };
          });
        }
        return out;
      }),
    };
  },

  // Cohere's errors are `{ id, message }`; the SDK raises ForbiddenError with this body for a 403
  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    return { id: decisionId, message, higgs: { rule_id: ruleId, decision_id: decisionId } };
  },
};

/** Text of a string or a list of `text` / `document` parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new UnparsableBody('content is neither a string nor a list of parts');
  const parts: string[] = [];
  for (const p of content) {
    if (!isRecord(p)) continue;
    if (typeof p.text === 'string') parts.push(p.text);
    else if (p.type === 'document' && isRecord(p.document)) {
      const data = p.document.data;
      parts.push(typeof data === 'string' ? data : JSON.stringify(data));
    }
  }
  return parts.join('\n');
}

function redactPart(p: unknown, redact: (text: string) => string): unknown {
  if (!isRecord(p)) return p;
  if (typeof p.text === 'string') return { ...p, text: redact(p.text) };
  if (p.type === 'document' && isRecord(p.document)) {
    const data = p.document.data;
    if (typeof data === 'string') return { ...p, document: { ...p.document, data: redact(data) } };
    if (isRecord(data)) {
      // an object document is redacted through its JSON text; one the redaction leaves unparseable goes out as that text
      const text = redact(JSON.stringify(data));
      let redacted: unknown = text;
      try {
        redacted = JSON.parse(text);
      } catch { /* keep the redacted text */ }
      return { ...p, document: { ...p.document, data: redacted } };
    }
  }
  return p;
}

/** `tokens` are what the model processed; `billed_units` what is charged — the former when present. */
function usage(u: unknown): Usage | null {
  if (!isRecord(u)) return null;
  for (const key of ['tokens', 'billed_units'] as const) {
    const t = isRecord(u[key]) ? u[key] : null;
    const input = int(t?.input_tokens);
    const output = int(t?.output_tokens);
    if (input !== null && output !== null) {
      const cached = int(u.cached_tokens);
      return { inputTokens: input, outputTokens: output, ...(cached !== null && cached > 0 ? { cachedTokens: cached } : {}) };
    }
  }
  return null;
}
