import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { anthropicParser } from '../anthropic/index.ts';
import {
  type BlockedBody, int, isRecord, type ParsedRequest, type ParsedResponse, type ProviderParser, str, type StreamParser,
  UnparsableBody,
} from '../types.ts';
import { EventStreamDecoder, type EventStreamMessage } from './event-stream.ts';
import { mapStrings } from '../json-walk.ts';

/**
 * AWS Bedrock runtime (`bedrock-runtime.<region>.amazonaws.com`):
 * - InvokeModel `POST /model/{modelId}/invoke` and InvokeModelWithResponseStream
 *   `/invoke-with-response-stream`: the body is the model family's own format —
 *   Anthropic Messages, Amazon Titan Text, Meta Llama, Amazon Nova — and the
 *   stream is AWS event-stream `chunk` events whose `{"bytes": base64}` payload
 *   wraps the model's own stream event.
 * - Converse `POST /model/{modelId}/converse` and ConverseStream `/converse-stream`:
 *   Bedrock's uniform message format; the stream is event-stream
 *   messageStart / contentBlockStart / contentBlockDelta / contentBlockStop /
 *   messageStop / metadata.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 */
export const bedrockParser: ProviderParser = {
  provider: 'bedrock',

  endpointFor(method, path) {
    const action = method === 'POST' ? route(path)?.action : undefined;
    if (action === 'invoke' || action === 'invoke-with-response-stream') return 'invoke';
    if (action === 'converse' || action === 'converse-stream') return 'converse';
    return null;
  },

  parseRequest(endpoint, body, path) {
    const r = path === undefined ? null : route(path);
    const model = r?.modelId ?? null;
    const stream = r?.action === 'invoke-with-response-stream' || r?.action === 'converse-stream';
    if (!isRecord(body)) throw new UnparsableBody('Bedrock request is not a JSON object');
    const base = { provider: 'bedrock' as const, endpoint, model, stream, providerUser: null };
    // Converse, and Nova on InvokeModel, share Bedrock's own message format
    if (endpoint === 'converse' || (Array.isArray(body.messages) && body.anthropic_version === undefined)) {
      return { ...base, ...converseRequest(body) };
    }
    if (typeof body.anthropic_version === 'string') {
      const p = anthropicParser.parseRequest('messages', body);
      return { ...p, ...base };
    }
    if (typeof body.inputText === 'string') return { ...base, system: null, messages: [{ role: 'user', content: body.inputText }], tools: [] };
    if (typeof body.prompt === 'string') return { ...base, system: null, messages: [{ role: 'user', content: body.prompt }], tools: [] };
    throw new UnparsableBody('unrecognised Bedrock model body');
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (body.type === 'message' || body.type === 'error') return anthropicParser.parseResponse(body);
    if (isRecord(body.output) && isRecord(body.output.message)) {
      const { content, toolCalls } = converseContent(body.output.message.content);
      return { content, toolCalls, finishReason: str(body.stopReason), usage: converseUsage(body.usage), error: null };
    }
    if (Array.isArray(body.results)) {
      const first = isRecord(body.results[0]) ? body.results[0] : {};
      const output = int(first.tokenCount);
      const input = int(body.inputTextTokenCount);
      return {
        content: str(first.outputText), toolCalls: [], finishReason: str(first.completionReason),
        usage: input !== null || output !== null ? { inputTokens: input ?? 0, outputTokens: output ?? 0 } : null, error: null,
      };
    }
    if (typeof body.generation === 'string') {
      const input = int(body.prompt_token_count);
      const output = int(body.generation_token_count);
      return {
        content: body.generation, toolCalls: [], finishReason: str(body.stop_reason),
        usage: input !== null || output !== null ? { inputTokens: input ?? 0, outputTokens: output ?? 0 } : null, error: null,
      };
    }
    // AWS errors: {"message": "..."} with the type in x-amzn-errortype, or `__type` in the body
    if (typeof body.message === 'string' || typeof body.Message === 'string') {
      return { content: null, toolCalls: [], finishReason: null, usage: null, error: str(body.message) ?? str(body.Message) };
    }
    throw new UnparsableBody('unrecognised Bedrock response body');
  },

  streamParser(): StreamParser {
    return new BedrockStream();
  },

  redactRequest(body, redact) {
    if (!isRecord(body)) return body;
    if (typeof body.anthropic_version === 'string') return anthropicParser.redactRequest(body, redact);
    if (typeof body.inputText === 'string') return { ...body, inputText: redact(body.inputText) };
    if (typeof body.prompt === 'string') return { ...body, prompt: redact(body.prompt) };
    const out: Record<string, unknown> = { ...body };
    if (Array.isArray(body.messages)) out.messages = body.messages.map((m) => (isRecord(m) ? { ...m, content: redactBlocks(m.content, redact) } : m));
    if (Array.isArray(body.system)) out.system = redactBlocks(body.system, redact);
    return out;
  },

  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    // the SDK raises the modelled AccessDeniedException from `__type` (restJson1 error code resolution)
    return { __type: 'AccessDeniedException', message, higgs: { rule_id: ruleId, decision_id: decisionId } };
  },
};

type Action = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

/** The model id (URL-decoded: SDKs send `anthropic.claude-3-haiku-20240307-v1%3A0`) and the action of a runtime path. */
function route(path: string): { modelId: string; action: Action } | null {
  const m = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/.exec(path.split('?')[0]!);
  if (!m) return null;
  let modelId: string;
  try {
    modelId = decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
  return { modelId, action: m[2] as Action };
}

function converseRequest(body: Record<string, unknown>): Pick<ParsedRequest, 'system' | 'messages' | 'tools'> {
  if (!Array.isArray(body.messages)) throw new UnparsableBody('converse request without messages[]');
  const messages: ChatMessage[] = [];
  const toolNamesById = new Map<string, string>();
  for (const m of body.messages) {
    if (!isRecord(m) || (m.role !== 'user' && m.role !== 'assistant')) throw new UnparsableBody('message without a user/assistant role');
    const role = m.role;
    const text: string[] = [];
    for (const block of Array.isArray(m.content) ? m.content : []) {
      if (!isRecord(block)) continue;
      if (typeof block.text === 'string') {
        text.push(block.text);
        continue;
      }
      if (text.length > 0) messages.push({ role, content: text.splice(0).join('\n') });
      if (isRecord(block.toolUse)) {
        const name = str(block.toolUse.name) ?? '';
        const id = str(block.toolUse.toolUseId);
        if (id) toolNamesById.set(id, name);
        messages.push({ role: 'assistant', content: JSON.stringify(block.toolUse.input ?? {}), toolName: name });
      } else if (isRecord(block.toolResult)) {
        const name = toolNamesById.get(str(block.toolResult.toolUseId) ?? '');
        messages.push({ role: 'tool', content: toolResultText(block.toolResult.content), ...(name ? { toolName: name } : {}) });
      }
    }
    if (text.length > 0) messages.push({ role, content: text.join('\n') });
  }
  const system = (Array.isArray(body.system) ? body.system : []).flatMap((b) => (isRecord(b) && typeof b.text === 'string' ? [b.text] : []));
  const tools: string[] = [];
  const toolSpecs = isRecord(body.toolConfig) && Array.isArray(body.toolConfig.tools) ? body.toolConfig.tools : [];
  for (const t of toolSpecs) {
    const name = isRecord(t) && isRecord(t.toolSpec) ? str(t.toolSpec.name) : null;
    if (name) tools.push(name);
  }
  return { system: system.length > 0 ? system.join('\n') : null, messages, tools };
}

function toolResultText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content.map((c) => (isRecord(c) ? (typeof c.text === 'string' ? c.text : c.json !== undefined ? JSON.stringify(c.json) : '') : '')).filter(Boolean).join('\n');
}

function converseContent(content: unknown): { content: string | null; toolCalls: ToolUse[] } {
  const text: string[] = [];
  const toolCalls: ToolUse[] = [];
  for (const b of Array.isArray(content) ? content : []) {
    if (!isRecord(b)) continue;
    if (typeof b.text === 'string') text.push(b.text);
    if (isRecord(b.toolUse)) toolCalls.push({ id: str(b.toolUse.toolUseId), name: str(b.toolUse.name) ?? '', input: JSON.stringify(b.toolUse.input ?? {}) });
  }
  return { content: text.length > 0 ? text.join('') : null, toolCalls };
}

function converseUsage(u: unknown): Usage | null {
  if (!isRecord(u)) return null;
  const input = int(u.inputTokens);
  const output = int(u.outputTokens);
  if (input === null && output === null) return null;
  const cached = int(u.cacheReadInputTokens);
  return { inputTokens: input ?? 0, outputTokens: output ?? 0, ...(cached !== null ? { cachedTokens: cached } : {}) };
}

function redactBlocks(content: unknown, redact: (t: string) => string): unknown {
  if (typeof content === 'string') return redact(content);
  if (!Array.isArray(content)) return content;
  return content.map((b) => {
    if (!isRecord(b)) return b;
    if (typeof b.text === 'string') return { ...b, text: redact(b.text) };
    if (isRecord(b.toolResult)) return { ...b, toolResult: { ...b.toolResult, content: redactBlocks(b.toolResult.content, redact) } };
    if (isRecord(b.toolUse)) return { ...b, toolUse: { ...b.toolUse, input: mapStrings(b.toolUse.input, redact) } };
    if (b.json !== undefined) return { ...b, json: mapStrings(b.json, redact) };
    return b;
  });
}

/**
 * One parser for both binary streams: the event-stream frames are decoded as
 * bytes arrive; `chunk` events (InvokeModel) are unwrapped and dispatched by
 * the shape of the model's event, named events (ConverseStream) by
 * `:event-type`. A corrupt frame stops parsing and is recorded as the error;
 * the bytes are still relayed to the client unchanged.
 */
class BedrockStream implements StreamParser {
  private readonly decoder = new EventStreamDecoder((m) => this.message(m));
  // Anthropic-on-Bedrock chunks are Anthropic stream events: reuse that parser, fed as SSE data lines
  private anthropic: StreamParser | null = null;
  private readonly blocks = new Map<number, { id: string | null; name: string; text: string; tool: boolean }>();
  private finishReason: string | null = null;
  private usage: Usage | null = null;
  private error: string | null = null;
  private decoderFailed = false;

  push(): void {
    // binary framing: text is never fed to this parser (see pushBytes)
  }

  pushBytes(chunk: Uint8Array): void {
    if (this.decoderFailed) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.decoderFailed = true;
      this.error = `event-stream: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  end(): ParsedResponse {
    if (!this.decoderFailed) {
      try {
        this.decoder.end();
      } catch (err) {
        this.error ??= `event-stream: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (this.anthropic) {
      const r = this.anthropic.end();
      return { ...r, usage: r.usage ?? this.usage, error: this.error ?? r.error };
    }
    const ordered = [...this.blocks.entries()].sort(([a], [b]) => a - b).map(([, b]) => b);
    const text = ordered.filter((b) => !b.tool).map((b) => b.text);
    const toolCalls = ordered.filter((b) => b.tool).map((b) => ({ id: b.id, name: b.name, input: b.text || '{}' }));
    return { content: text.length > 0 ? text.join('') : null, finishReason: this.finishReason, toolCalls, usage: this.usage, error: this.error };
  }

  private message(m: EventStreamMessage): void {
    const type = m.headers[':message-type'];
    const payload = parseJson(Buffer.from(m.payload).toString('utf8'));
    if (type === 'exception' || type === 'error') {
      const name = String(m.headers[':exception-type'] ?? m.headers[':error-code'] ?? 'exception');
      this.error = `${name}: ${isRecord(payload) ? str(payload.message) ?? str(payload.Message) ?? '' : ''}`.trim();
      return;
    }
    if (!isRecord(payload)) return;
    const event = String(m.headers[':event-type'] ?? '');
    if (event === 'chunk') {
      const inner = typeof payload.bytes === 'string' ? parseJson(Buffer.from(payload.bytes, 'base64').toString('utf8')) : null;
      if (isRecord(inner)) this.modelEvent(inner);
      return;
    }
    this.converseEvent(event, payload);
  }

  private modelEvent(e: Record<string, unknown>): void {
    const metrics = e['amazon-bedrock-invocationMetrics'];
    if (isRecord(metrics)) {
      const input = int(metrics.inputTokenCount);
      const output = int(metrics.outputTokenCount);
      if (input !== null || output !== null) this.usage = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
    }
    if (typeof e.type === 'string') {
      this.anthropic ??= anthropicParser.streamParser();
      this.anthropic.push(`data: ${JSON.stringify(e)}\n\n`);
      return;
    }
    // Nova: the Converse event names as keys of the chunk
    for (const name of ['messageStart', 'contentBlockStart', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']) {
      if (isRecord(e[name])) {
        this.converseEvent(name, e[name]);
        return;
      }
    }
    // Titan Text and Llama: each chunk carries the next piece of text and, at the end, the stop reason
    const piece = str(e.outputText) ?? str(e.generation);
    if (piece !== null) this.text(0, piece);
    this.finishReason = str(e.completionReason) ?? str(e.stop_reason) ?? this.finishReason;
  }

  private converseEvent(event: string, p: Record<string, unknown>): void {
    const index = int(p.contentBlockIndex) ?? 0;
    switch (event) {
      case 'contentBlockStart': {
        const start = isRecord(p.start) && isRecord(p.start.toolUse) ? p.start.toolUse : null;
        if (start) this.blocks.set(index, { id: str(start.toolUseId), name: str(start.name) ?? '', text: '', tool: true });
        break;
      }
      case 'contentBlockDelta': {
        const d = isRecord(p.delta) ? p.delta : {};
        if (typeof d.text === 'string') this.text(index, d.text);
        if (isRecord(d.toolUse) && typeof d.toolUse.input === 'string') {
          const b = this.blocks.get(index) ?? { id: null, name: '', text: '', tool: true };
          b.text += d.toolUse.input;
          this.blocks.set(index, b);
        }
        break;
      }
      case 'messageStop':
        this.finishReason = str(p.stopReason) ?? this.finishReason;
        break;
      case 'metadata':
        this.usage = converseUsage(p.usage) ?? this.usage;
        break;
      default: // messageStart, contentBlockStop carry nothing to record
    }
  }

  private text(index: number, piece: string): void {
    const b = this.blocks.get(index) ?? { id: null, name: '', text: '', tool: false };
    b.text += piece;
    this.blocks.set(index, b);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
