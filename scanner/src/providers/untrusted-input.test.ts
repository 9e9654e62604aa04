import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anthropicParser } from './anthropic/index.ts';
import { azureParsers } from './azure/index.ts';
import { encodeEventStreamMessage } from './bedrock/event-stream.ts';
import { bedrockParser } from './bedrock/index.ts';
import { cohereParser } from './cohere/index.ts';
import { geminiParser } from './gemini/index.ts';
import { parserFor } from './index.ts';
import { describeResult, jsonRpcResponses, McpEventStream, parseMcpRequests, redactMcpRequest } from './mcp/index.ts';
import { mistralParser } from './mistral/index.ts';
import { openaiParser } from './openai/index.ts';
import { togetherParser } from './together/index.ts';
import type { ProviderParser } from './types.ts';

/*
 * Everything a provider or an MCP server sends is attacker-controlled (a self-hosted endpoint is
 * recognised by its path on any host). The proxy calls the stream parsers from inside 'data'
 * handlers and redacts a request body its parser accepted without a try around it, so these must
 * not throw on any input: a throw there would be an uncaught exception in the scanner.
 */
const PARSERS: ProviderParser[] = [
  openaiParser, parserFor('POST', '/v1/responses')!.parser, parserFor('POST', '/v1/embeddings')!.parser, anthropicParser, bedrockParser,
  geminiParser, ...azureParsers, mistralParser, togetherParser, cohereParser,
];
// Real events of each wire format, for mutation: random JSON alone almost never has a `choices`
// or a `delta` for a parser to trip over, so the fuzz also takes a parser's own events and replaces
// parts of them, with the values that break careless code (null, empty, wrong types) most often.
const OPENAI_CHAT = [{ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi', tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }, finish_reason: null }], usage: { prompt_tokens: 3, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 0 } } }];
const TEMPLATES: Record<string, unknown[]> = {
  openai: OPENAI_CHAT, openai_compatible: OPENAI_CHAT, azure_openai: OPENAI_CHAT, mistral: OPENAI_CHAT, together: OPENAI_CHAT,
  responses: [
    { type: 'response.output_text.delta', delta: 'hi', output_index: 0 },
    { type: 'response.completed', response: { id: 'r1', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: 'hi' }] }, { type: 'function_call', name: 'f', arguments: '{}', call_id: 'c' }], usage: { input_tokens: 1, output_tokens: 2 } } },
  ],
  anthropic: [
    { type: 'message_start', message: { id: 'm1', role: 'assistant', content: [], model: 'claude', usage: { input_tokens: 3, output_tokens: 1, cache_read_input_tokens: 0 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't1', name: 'f', input: {} } },
    { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a":1' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } },
    { type: 'error', error: { type: 'overloaded_error', message: 'busy' } },
  ],
  cohere: [
    { type: 'content-delta', index: 0, delta: { message: { content: { text: 'hi' } } } },
    { type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: 't', type: 'function', function: { name: 'f', arguments: '' } } } } },
    { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '{"a"' } } } } },
    { type: 'message-end', delta: { finish_reason: 'COMPLETE', usage: { billed_units: { input_tokens: 1, output_tokens: 2 }, tokens: { input_tokens: 1 } } } },
  ],
  gemini: [{ candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }, { functionCall: { name: 'f', args: { a: 1 } } }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2 } }],
  bedrock: [
    { contentBlockDelta: { delta: { text: 'hi', toolUse: { input: '{"a"' } }, contentBlockIndex: 0 } },
    { contentBlockStart: { start: { toolUse: { toolUseId: 't', name: 'f' } }, contentBlockIndex: 1 } },
    { messageStop: { stopReason: 'end_turn' } },
    { metadata: { usage: { inputTokens: 1, outputTokens: 2 } } },
    { outputText: 'hi', completionReason: 'FINISH', generation: 'hi', stop_reason: 'stop', inputTextTokenCount: 1 },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  ],
};
// 100 000 levels of array: what JSON.parse takes from a few hundred KB and a recursive walk (or JSON.stringify)
// cannot. Too deep to stringify here too, it is spliced into the event's text in place of this marker
const DEEP_MARK = '\u0000deep\u0000';
const deepText = (json: string): string => json.replaceAll(JSON.stringify(DEEP_MARK), `${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
const hostile = fc.oneof(fc.constantFrom(null, [], {}, '', 0, -1, 1e308, true, [null], { a: null }, '{', 'null', DEEP_MARK), fc.jsonValue({ maxDepth: 2 }));

/** Every path to a value in `v`, the root included. */
function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}
function replaced(v: unknown, path: Array<string | number>, by: unknown): unknown {
  if (path.length === 0) return by;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), by);
  return copy;
}
/** One of `templates` with up to three of its parts replaced. */
const mutated = (templates: unknown[]) => fc.tuple(fc.constantFrom(...templates), fc.array(fc.tuple(fc.nat(), hostile), { maxLength: 3 }))
  .map(([template, edits]) => edits.reduce<unknown>((v, [n, by]) => {
    const all = paths(v);
    return replaced(v, all[n % all.length]!, by);
  }, template));
const templatesOf = (p: ProviderParser, i: number): unknown[] => (i === 1 ? TEMPLATES.responses! : TEMPLATES[p.provider] ?? OPENAI_CHAT);

const EVENT_NAMES = ['message', 'message_start', 'content_block_start', 'content_block_delta', 'message_delta', 'error', 'response.output_text.delta',
  'response.completed', 'content-delta', 'message-end', 'tool-call-start'];
const json = fc.jsonValue({ maxDepth: 4 });
// events shaped like the parser's own (named, JSON data, [DONE]) with parts replaced, and not (any text, broken JSON)
const sseEvent = (templates: unknown[]) => fc.oneof(
  fc.tuple(fc.constantFrom(...EVENT_NAMES), mutated(templates)).map(([e, j]) => `event: ${e}\ndata: ${deepText(JSON.stringify(j))}\n\n`),
  mutated(templates).map((j) => `data: ${deepText(JSON.stringify(j))}\n\n`),
  mutated(templates).map((j) => `data: ${deepText(JSON.stringify(j))}\n\n`),
  fc.tuple(fc.constantFrom(...EVENT_NAMES), json).map(([e, j]) => `event: ${e}\ndata: ${JSON.stringify(j)}\n\n`),
  fc.string().map((s) => `data: ${s}\n\n`),
  fc.string(),
  fc.constant('data: [DONE]\n\n'),
);
const bedrockFrame = fc.oneof(
  mutated(TEMPLATES.bedrock!).map((j) => ['chunk', JSON.stringify({ bytes: Buffer.from(deepText(JSON.stringify(j))).toString('base64') })] as const),
  fc.tuple(fc.constantFrom('contentBlockDelta', 'contentBlockStart', 'messageStop', 'metadata', 'messageStart'), mutated(TEMPLATES.bedrock!)).map(([t, j]) => [t, deepText(JSON.stringify(j))] as const),
  fc.tuple(fc.constantFrom('chunk', 'contentBlockDelta'), fc.string()),
);
const REQUEST_PATHS = ['/v1/chat/completions', '/v1/messages', '/model/m/invoke', '/model/m/converse-stream', '/v1beta/models/g:streamGenerateContent?alt=sse',
  '/v2/chat', '/openai/deployments/d/chat/completions?api-version=2024-10-21', '/v1/responses', '/v1/embeddings'];

describe('provider parsers on untrusted input', () => {
  it.each(PARSERS.map((p, i) => [`${p.provider} #${i}`, p, i] as const))('%s: a stream parser never throws, whatever the stream', (_name, parser, i) => {
    fc.assert(fc.property(fc.array(sseEvent(templatesOf(parser, i)), { maxLength: 8 }), fc.array(bedrockFrame, { maxLength: 4 }), fc.uint8Array({ maxLength: 300 }), (events, frames, bytes) => {
      const s = parser.streamParser();
      for (const e of events) {
        if (s.pushBytes) s.pushBytes(Buffer.from(e));
        else s.push(e);
      }
      if (s.pushBytes) {
        // well-framed messages with hostile payloads: InvokeModel chunks and Converse events
        for (const [type, payload] of frames) s.pushBytes(encodeEventStreamMessage({ ':event-type': type, ':message-type': 'event', ':content-type': 'application/json' }, Buffer.from(payload)));
      }
      if (s.pushBytes) {
        // Bedrock's binary framing: a corrupt frame is reported by its decoder, which the proxy catches; the parser's own code must not throw
        try {
          s.pushBytes(bytes);
          s.end();
        } catch (err) {
          expect((err as { code?: string }).code).toBe('EVENT_STREAM_INVALID');
        }
        return;
      }
      s.push(Buffer.from(bytes).toString('utf8'));
      s.end();
    }), { numRuns: 150 });
  });

  it.each(PARSERS.map((p, i) => [`${p.provider} #${i}`, p] as const))('%s: a request body the parser accepted can always be redacted', (_name, parser) => {
    fc.assert(fc.property(json, fc.constantFrom(...REQUEST_PATHS), (body, path) => {
      const endpoint = parser.endpointFor('POST', path);
      if (endpoint === null) return;
      try {
        parser.parseRequest(endpoint, body, path);
      } catch {
        return; // refused: recorded as unparsed, never redacted
      }
      parser.redactRequest(body, (t) => t.toUpperCase());
    }), { numRuns: 150 });
  });

  it('MCP: request parsing, redaction, answers and event streams never throw', () => {
    const method = fc.constantFrom('tools/call', 'tools/list', 'initialize', 'resources/read', 'notifications/initialized');
    const message = fc.record({ jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string()), method, params: json, result: json, error: json },
      { requiredKeys: ['jsonrpc'] });
    fc.assert(fc.property(fc.oneof(message, fc.array(message, { maxLength: 3 }), json), (body) => {
      if (parseMcpRequests(body)) redactMcpRequest(body, (t) => t.toUpperCase());
      for (const r of jsonRpcResponses(body)) for (const m of ['tools/call', 'tools/list', 'initialize', 'resources/read']) describeResult(m, r);
    }), { numRuns: 400 });
    fc.assert(fc.property(fc.array(fc.oneof(message.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`), fc.string()), { maxLength: 6 }), (chunks) => {
      const s = new McpEventStream({ onMessage: (m) => describeResult('tools/call', m), onEndpoint: () => undefined });
      for (const c of chunks) s.push(c);
      s.end();
    }), { numRuns: 400 });
  });
});
