import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { SseDecoder } from '../sse.ts';
import {
  type BlockedBody, int, isRecord, type ParsedRequest, type ParsedResponse, type ProviderParser, str, type StreamParser,
  UnparsableBody,
} from '../types.ts';
import { mapStrings } from '../json-walk.ts';

/**
 * Anthropic Messages (`POST /v1/messages`): request, JSON response and the
 * SSE event stream. https://docs.anthropic.com/en/api/messages-streaming
 */
export const anthropicParser: ProviderParser = {
  provider: 'anthropic',

  endpointFor(method, path) {
    return method === 'POST' && /(?:^|\/)v1\/messages$/.test(path.split('?')[0]!) ? 'messages' : null;
  },

  parseRequest(endpoint, body) {
    if (!isRecord(body) || !Array.isArray(body.messages)) throw new UnparsableBody('messages request without messages[]');
    const messages: ChatMessage[] = [];
    const toolNamesById = new Map<string, string>();
    for (const m of body.messages) {
      if (!isRecord(m)) throw new UnparsableBody('message is not an object');
      const role = m.role === 'user' || m.role === 'assistant' ? m.role : null;
      if (!role) throw new UnparsableBody(`unknown message role ${String(m.role)}`);
      if (typeof m.content === 'string') {
        messages.push({ role, content: m.content });
        continue;
      }
      if (!Array.isArray(m.content)) throw new UnparsableBody('content is neither a string nor an array of blocks');
      const text: string[] = [];
      for (const block of m.content) {
        if (!isRecord(block)) continue;
        if (block.type === 'text' && typeof block.text === 'string') {
          text.push(block.text);
          continue;
        }
        // keep the conversation in order: text written before a tool block is recorded before it
        if (text.length > 0) messages.push({ role, content: text.splice(0).join('\n') });
        if (block.type === 'tool_use') {
          const name = str(block.name) ?? '';
          const id = str(block.id);
          if (id) toolNamesById.set(id, name);
          messages.push({ role: 'assistant', content: JSON.stringify(block.input ?? {}), toolName: name });
        } else if (block.type === 'tool_result') {
          const name = toolNamesById.get(str(block.tool_use_id) ?? '');
          messages.push({ role: 'tool', content: blocksText(block.content), ...(name ? { toolName: name } : {}) });
        }
      }
      if (text.length > 0) messages.push({ role, content: text.join('\n') });
    }
    const tools: string[] = [];
    for (const t of Array.isArray(body.tools) ? body.tools : []) {
      const name = isRecord(t) ? str(t.name) : null;
      if (name) tools.push(name);
    }
    const system = body.system === undefined ? null : blocksText(body.system);
    const parsed: ParsedRequest = {
      provider: 'anthropic',
      endpoint,
      model: str(body.model),
      stream: body.stream === true,
      system: system === '' ? null : system,
      messages,
      tools,
      providerUser: isRecord(body.metadata) ? str(body.metadata.user_id) : null,
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (body.type === 'error') return errorResponse(body.error);
    const text: string[] = [];
    const toolCalls: ToolUse[] = [];
    for (const block of Array.isArray(body.content) ? body.content : []) {
      if (!isRecord(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') text.push(block.text);
      if (block.type === 'tool_use') toolCalls.push({ id: str(block.id), name: str(block.name) ?? '', input: JSON.stringify(block.input ?? {}) });
    }
    return {
      content: text.length > 0 ? text.join('') : null,
      finishReason: str(body.stop_reason),
      toolCalls,
      usage: usage(body.usage, null),
      error: null,
    };
  },

  streamParser(): StreamParser {
    const blocks = new Map<number, { kind: 'text' | 'tool_use'; id: string | null; name: string; text: string }>();
    let finishReason: string | null = null;
    let use: Usage | null = null;
    let error: string | null = null;
    const decoder = new SseDecoder(({ data }) => {
      let e: unknown;
      try {
        e = JSON.parse(data);
      } catch {
        return;
      }
      if (!isRecord(e)) return;
      const index = int(e.index) ?? 0;
      switch (e.type) {
        case 'message_start':
          if (isRecord(e.message)) use = usage(e.message.usage, use);
          break;
        case 'content_block_start': {
          const b = isRecord(e.content_block) ? e.content_block : {};
          if (b.type === 'text') blocks.set(index, { kind: 'text', id: null, name: '', text: str(b.text) ?? '' });
          if (b.type === 'tool_use') blocks.set(index, { kind: 'tool_use', id: str(b.id), name: str(b.name) ?? '', text: '' });
          break;
        }
        case 'content_block_delta': {
          const block = blocks.get(index);
          const d = isRecord(e.delta) ? e.delta : {};
          if (block && d.type === 'text_delta') block.text += str(d.text) ?? '';
          if (block && d.type === 'input_json_delta') block.text += str(d.partial_json) ?? '';
          break;
        }
        case 'message_delta':
          if (isRecord(e.delta)) finishReason = str(e.delta.stop_reason) ?? finishReason;
          use = usage(e.usage, use);
          break;
        case 'error':
          error = isRecord(e.error) ? str(e.error.message) ?? 'error' : 'error';
          break;
        default: // ping, content_block_stop, message_stop carry nothing to record
      }
    });
    return {
      push: (text) => decoder.push(text),
      end: () => {
        decoder.end();
        const ordered = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, b]) => b);
        const text = ordered.filter((b) => b.kind === 'text').map((b) => b.text);
        const toolCalls = ordered.filter((b) => b.kind === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.text || '{}' }));
        return { content: text.length > 0 ? text.join('') : null, finishReason, toolCalls, usage: use, error };
      },
    };
  },

  redactRequest(body, redact) {
    if (!isRecord(body) || !Array.isArray(body.messages)) return body;
    const out: Record<string, unknown> = { ...body, messages: body.messages.map((m) => (isRecord(m) ? { ...m, content: redactContent(m.content, redact) } : m)) };
    if (body.system !== undefined) out.system = redactContent(body.system, redact);
    return out;
  },

  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    return { type: 'error', error: { type: 'permission_error', message }, higgs: { rule_id: ruleId, decision_id: decisionId } };
  },
};

function blocksText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((b) => isRecord(b) && typeof b.text === 'string').map((b) => (b as { text: string }).text).join('\n');
}

function redactContent(content: unknown, redact: (t: string) => string): unknown {
  if (typeof content === 'string') return redact(content);
  if (!Array.isArray(content)) return content;
  return content.map((b) => {
    if (!isRecord(b)) return b;
    if (typeof b.text === 'string') return { ...b, text: redact(b.text) };
    if (b.type === 'tool_result') return { ...b, content: redactContent(b.content, redact) };
    if (b.type === 'tool_use' && b.input !== undefined) return { ...b, input: mapStrings(b.input, redact) };
    return b;
  });
}

// message_start carries input tokens, message_delta the running output count; later values win.
function usage(u: unknown, previous: Usage | null): Usage | null {
  if (!isRecord(u)) return previous;
  const input = int(u.input_tokens) ?? previous?.inputTokens ?? null;
  const output = int(u.output_tokens) ?? previous?.outputTokens ?? null;
  if (input === null && output === null) return previous;
  const cached = int(u.cache_read_input_tokens) ?? previous?.cachedTokens ?? null;
  return { inputTokens: input ?? 0, outputTokens: output ?? 0, ...(cached !== null ? { cachedTokens: cached } : {}) };
}

function errorResponse(error: unknown): ParsedResponse {
  return { content: null, finishReason: null, toolCalls: [], usage: null, error: isRecord(error) ? str(error.message) ?? 'error' : 'error' };
}
