/**
 * A local Messages API for the agent's Claude loop: `POST /v1/messages` on
 * loopback HTTP, answering in the real wire format — JSON `Message`s, or SSE
 * streams of message_start, content_block_start/delta (text_delta and
 * input_json_delta)/stop, message_delta and message_stop — with `tool_use`
 * blocks, `stop_reason: 'tool_use'`, and prompt-cache usage (a prefix marked
 * with `cache_control` is written on first sight and read afterwards).
 *
 * What it says is decided by a `MockModel`: the default picks a tool by
 * keywords from the offered tools, then answers quoting ids from the tool
 * results. Tests pass their own to script a conversation.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContentBlock, Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';

export interface MockMessagesRequest {
  model: string;
  stream: boolean;
  system: unknown;
  tools: Array<{ name: string; description?: string; input_schema?: unknown; cache_control?: unknown }>;
  messages: Array<{ role: 'user' | 'assistant'; content: unknown }>;
  headers: Record<string, string | string[] | undefined>;
}

/** One model reply: text, then tool calls (which make stop_reason `tool_use`). */
export interface MockModelReply {
  text?: string;
  toolUses?: Array<{ name: string; input: Record<string, unknown> }>;
}

export type MockModel = (request: MockMessagesRequest) => MockModelReply;

export interface MockMessagesApi {
  /** base URL for the SDK's `baseURL` (http://127.0.0.1:port) */
  url: string;
  received: MockMessagesRequest[];
  close(): Promise<void>;
}

/** The last user message's text, and its tool results (with their content as text). */
export function lastUserTurn(request: MockMessagesRequest): { text: string; toolResults: Array<{ content: string; isError: boolean }> } {
  const last = [...request.messages].reverse().find((m) => m.role === 'user');
  if (last === undefined) return { text: '', toolResults: [] };
  if (typeof last.content === 'string') return { text: last.content, toolResults: [] };
  const blocks = Array.isArray(last.content) ? (last.content as Array<Record<string, unknown>>) : [];
  const text = blocks.filter((b) => b.type === 'text').map((b) => String(b.text)).join('\n');
  const toolResults = blocks.filter((b) => b.type === 'tool_result').map((b) => ({
    content: typeof b.content === 'string' ? b.content : JSON.stringify(b.content),
    isError: b.is_error === true,
  }));
  return { text, toolResults };
}

/**
 * The default model: after tool results, an answer quoting up to three ids from
 * them; otherwise one tool chosen by keywords among those offered.
 */
export const keywordModel: MockModel = (request) => {
  const { text, toolResults } = lastUserTurn(request);
  if (toolResults.length > 0) {
    const ids = [...new Set(toolResults.flatMap((r) => [...r.content.matchAll(/"id":"([^"]{1,120})"/g)].map((m) => m[1]!)))].slice(0, 3);
    if (toolResults.every((r) => r.isError)) return { text: 'The tool refused the request, so I cannot answer that.' };
    return { text: ids.length > 0 ? `From the tools: ${ids.map((id) => `\`${id}\``).join(', ')}. Open them in the Briefing for details.` : 'The tools returned nothing relevant.' };
  }
  const offered = new Set(request.tools.map((t) => t.name));
  const lower = text.toLowerCase();
  const finding = /finding "([^"]+)"/.exec(text)?.[1];
  const pick = (name: string, input: Record<string, unknown>): MockModelReply => (offered.has(name) ? { text: 'Let me check.', toolUses: [{ name, input }] } : { text: `I have no ${name} tool.` });
  if (finding !== undefined) return pick('get_finding', { id: finding });
  if (/eu ai act|soc ?2|nist|how does|what happens|how do/.test(lower)) return pick('search_knowledge', { query: text.slice(0, 500) });
  if (/pii|leak/.test(lower)) return pick('list_findings', { category: 'pii' });
  return pick('briefing_summary', {});
};

function usageFor(request: MockMessagesRequest, seenPrefixes: Set<string>, outputText: string) {
  const prefix = JSON.stringify([request.system, request.tools]);
  const prefixTokens = Math.ceil(prefix.length / 4);
  const restTokens = Math.ceil(JSON.stringify(request.messages).length / 4);
  const cached = JSON.stringify(request.system ?? '').includes('cache_control') || request.tools.some((t) => t.cache_control !== undefined);
  const key = createHash('sha256').update(prefix).digest('hex');
  const hit = cached && seenPrefixes.has(key);
  if (cached) seenPrefixes.add(key);
  return {
    input_tokens: cached ? restTokens : prefixTokens + restTokens,
    output_tokens: Math.max(1, Math.ceil(outputText.length / 4)),
    cache_creation_input_tokens: cached && !hit ? prefixTokens : 0,
    cache_read_input_tokens: hit ? prefixTokens : 0,
  };
}

function contentOf(reply: MockModelReply): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  if (reply.text) blocks.push({ type: 'text', text: reply.text, citations: null });
  for (const use of reply.toolUses ?? []) blocks.push({ type: 'tool_use', id: `toolu_${randomUUID().replace(/-/g, '').slice(0, 24)}`, name: use.name, input: use.input, caller: { type: 'direct' } } as ContentBlock);
  return blocks;
}

/** Splits a string into `n` roughly equal pieces (at least one), so a stream carries several deltas. */
function pieces(s: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(s.length / n));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function streamEvents(message: Message): RawMessageStreamEvent[] {
  const events: RawMessageStreamEvent[] = [];
  const start = { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 1 } };
  events.push({ type: 'message_start', message: start as Message });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } });
      for (const text of pieces(block.text, 4)) events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    } else if (block.type === 'tool_use') {
      events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      for (const partial_json of pieces(JSON.stringify(block.input), 3)) events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
    }
    events.push({ type: 'content_block_stop', index });
  });
  events.push({
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null, container: null } as never,
    usage: {
      output_tokens: message.usage.output_tokens, input_tokens: message.usage.input_tokens,
      cache_creation_input_tokens: message.usage.cache_creation_input_tokens, cache_read_input_tokens: message.usage.cache_read_input_tokens,
      server_tool_use: null,
    } as never,
  });
  events.push({ type: 'message_stop' });
  return events;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID()}` })
    .end(JSON.stringify({ type: 'error', error: { type, message }, request_id: `req_${randomUUID()}` }));
}

/**
 * Starts the mock on 127.0.0.1 (a free port by default).
 *
 * @example
 * const api = await startMockMessagesApi();
 * const agent = createAgent({ registry, agentPrincipal, anthropic: { apiKey: 'test', model: 'claude-sonnet-5-5', baseURL: api.url } });
 */
export async function startMockMessagesApi(opts: { model?: MockModel; port?: number; chunkDelayMs?: number } = {}): Promise<MockMessagesApi> {
  const model = opts.model ?? keywordModel;
  const received: MockMessagesRequest[] = [];
  const seenPrefixes = new Set<string>();
  const delay = opts.chunkDelayMs ?? 1;

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/messages') return sendError(res, 404, 'not_found_error', 'Not found');
      if (!req.headers['x-api-key'] && !req.headers.authorization) return sendError(res, 401, 'authentication_error', 'missing x-api-key');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      } catch {
        return sendError(res, 400, 'invalid_request_error', 'body is not JSON');
      }
      if (typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
        return sendError(res, 400, 'invalid_request_error', 'model, messages and max_tokens are required');
      }
      const request: MockMessagesRequest = {
        model: body.model, stream: body.stream === true, system: body.system ?? null,
        tools: Array.isArray(body.tools) ? body.tools as MockMessagesRequest['tools'] : [],
        messages: body.messages as MockMessagesRequest['messages'], headers: req.headers,
      };
      received.push(request);
      const reply = model(request);
      const content = contentOf(reply);
      const message: Message = {
        id: `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`, type: 'message', role: 'assistant', model: request.model, content,
        stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn', stop_sequence: null,
        usage: usageFor(request, seenPrefixes, JSON.stringify(content)) as Message['usage'],
      } as Message;
      if (!request.stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${randomUUID()}` }).end(JSON.stringify(message));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${randomUUID()}` });
      for (const event of streamEvents(message)) {
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      }
      res.end();
    })().catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'api_error', 'mock internal error');
      else res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
