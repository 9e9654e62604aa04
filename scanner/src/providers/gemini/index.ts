import type { ChatMessage, ToolUse, Usage } from '@higgs/schema';
import { SseDecoder } from '../sse.ts';
import {
  type BlockedBody, int, isRecord, type ParsedRequest, type ParsedResponse, type ProviderParser, str, type StreamParser,
  UnparsableBody,
} from '../types.ts';
import { jsonText, mapStrings } from '../json-walk.ts';

/**
 * Gemini API (`generativelanguage.googleapis.com`):
 * `POST /v1beta/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse` (each SSE `data:` line is a whole
 * GenerateContentResponse carrying the next piece). `v1` and tuned models too.
 * https://ai.google.dev/api/generate-content
 */
export const geminiParser: ProviderParser = {
  provider: 'gemini',

  endpointFor(method, path) {
    return method === 'POST' && route(path) ? 'generate_content' : null;
  },

  parseRequest(endpoint, body, path) {
    if (!isRecord(body) || !Array.isArray(body.contents)) throw new UnparsableBody('generateContent request without contents[]');
    const r = path === undefined ? null : route(path);
    const messages: ChatMessage[] = [];
    for (const c of body.contents) {
      if (!isRecord(c)) throw new UnparsableBody('content is not an object');
      const role = c.role === 'model' ? 'assistant' : 'user';
      const text: string[] = [];
      for (const part of Array.isArray(c.parts) ? c.parts : []) {
        if (!isRecord(part)) continue;
        if (typeof part.text === 'string') {
          if (part.thought !== true) text.push(part.text);
          continue;
        }
        if (text.length > 0) messages.push({ role, content: text.splice(0).join('\n') });
        if (isRecord(part.functionCall)) {
          messages.push({ role: 'assistant', content: JSON.stringify(part.functionCall.args ?? {}), toolName: str(part.functionCall.name) ?? '' });
        } else if (isRecord(part.functionResponse)) {
          const name = str(part.functionResponse.name);
          messages.push({ role: 'tool', content: JSON.stringify(part.functionResponse.response ?? {}), ...(name ? { toolName: name } : {}) });
        }
      }
      if (text.length > 0) messages.push({ role, content: text.join('\n') });
    }
    const tools: string[] = [];
    for (const t of Array.isArray(body.tools) ? body.tools : []) {
      for (const f of isRecord(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations : []) {
        const name = isRecord(f) ? str(f.name) : null;
        if (name) tools.push(name);
      }
    }
    const system = isRecord(body.systemInstruction) ? partsText(body.systemInstruction.parts) : typeof body.systemInstruction === 'string' ? body.systemInstruction : '';
    const parsed: ParsedRequest = {
      provider: 'gemini',
      endpoint,
      model: r?.model ?? null,
      stream: r?.stream ?? false,
      system: system === '' ? null : system,
      messages,
      tools,
      providerUser: null,
    };
    return parsed;
  },

  parseResponse(body) {
    if (!isRecord(body)) throw new UnparsableBody('response is not an object');
    if (isRecord(body.error)) return { content: null, finishReason: null, toolCalls: [], usage: null, error: str(body.error.message) ?? 'error' };
    const acc = new Accumulator();
    acc.add(body);
    return acc.result();
  },

  streamParser(): StreamParser {
    const acc = new Accumulator();
    const decoder = new SseDecoder(({ data }) => {
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return;
      }
      if (isRecord(chunk)) acc.add(chunk);
    });
    return {
      push: (text) => decoder.push(text),
      end: () => {
        decoder.end();
        return acc.result();
      },
    };
  },

  redactRequest(body, redact) {
    if (!isRecord(body) || !Array.isArray(body.contents)) return body;
    const out: Record<string, unknown> = {
      ...body,
      contents: body.contents.map((c) => (isRecord(c) && Array.isArray(c.parts) ? { ...c, parts: redactParts(c.parts, redact) } : c)),
    };
    if (isRecord(body.systemInstruction) && Array.isArray(body.systemInstruction.parts)) {
      out.systemInstruction = { ...body.systemInstruction, parts: redactParts(body.systemInstruction.parts, redact) };
    } else if (typeof body.systemInstruction === 'string') {
      out.systemInstruction = redact(body.systemInstruction);
    }
    return out;
  },

  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    // google.rpc.Status, as every Google API error body (https://ai.google.dev/gemini-api/docs/troubleshooting)
    return {
      error: {
        code: 403, message, status: 'PERMISSION_DENIED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'HIGGS_POLICY', domain: 'higgs', metadata: { rule_id: ruleId ?? '', decision_id: decisionId } }],
      },
    };
  },
};

function route(path: string): { model: string; stream: boolean } | null {
  const m = /^\/v1(?:beta|alpha)?\/((?:models|tunedModels)\/[^/:]+):(generateContent|streamGenerateContent)$/.exec(path.split('?')[0]!);
  if (!m) return null;
  let model: string;
  try {
    model = decodeURIComponent(m[1]!).replace(/^models\//, '');
  } catch {
    return null;
  }
  return { model, stream: m[2] === 'streamGenerateContent' };
}

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts.filter((p) => isRecord(p) && typeof p.text === 'string').map((p) => (p as { text: string }).text).join('\n');
}

function redactParts(parts: unknown[], redact: (t: string) => string): unknown[] {
  return parts.map((p) => {
    if (!isRecord(p)) return p;
    if (typeof p.text === 'string') return { ...p, text: redact(p.text) };
    if (isRecord(p.functionCall)) return { ...p, functionCall: { ...p.functionCall, args: mapStrings(p.functionCall.args, redact) } };
    if (isRecord(p.functionResponse)) return { ...p, functionResponse: { ...p.functionResponse, response: mapStrings(p.functionResponse.response, redact) } };
    return p;
  });
}

/** Folds GenerateContentResponse chunks (or one whole response) of the first candidate into a ParsedResponse. */
class Accumulator {
  private text = '';
  private sawText = false;
  private readonly toolCalls: ToolUse[] = [];
  private finishReason: string | null = null;
  private usage: Usage | null = null;
  private error: string | null = null;

  add(r: Record<string, unknown>): void {
    if (isRecord(r.error)) {
      this.error = str(r.error.message) ?? 'error';
      return;
    }
    const candidate = Array.isArray(r.candidates) && isRecord(r.candidates[0]) ? r.candidates[0] : null;
    const parts = candidate && isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
    for (const p of parts) {
      if (!isRecord(p)) continue;
      if (typeof p.text === 'string' && p.thought !== true) {
        this.text += p.text;
        this.sawText = true;
      }
      if (isRecord(p.functionCall)) {
        this.toolCalls.push({ id: str(p.functionCall.id), name: str(p.functionCall.name) ?? '', input: jsonText(p.functionCall.args ?? {}) });
      }
    }
    this.finishReason = str(candidate?.finishReason) ?? this.finishReason;
    if (isRecord(r.promptFeedback) && typeof r.promptFeedback.blockReason === 'string') this.finishReason = r.promptFeedback.blockReason;
    if (isRecord(r.usageMetadata)) {
      const u = r.usageMetadata;
      const input = int(u.promptTokenCount);
      // thinking tokens are billed as output
      const output = (int(u.candidatesTokenCount) ?? 0) + (int(u.thoughtsTokenCount) ?? 0);
      const cached = int(u.cachedContentTokenCount);
      this.usage = { inputTokens: input ?? this.usage?.inputTokens ?? 0, outputTokens: output, ...(cached !== null ? { cachedTokens: cached } : {}) };
    }
  }

  result(): ParsedResponse {
    return { content: this.sawText ? this.text : null, finishReason: this.finishReason, toolCalls: this.toolCalls, usage: this.usage, error: this.error };
  }
}
