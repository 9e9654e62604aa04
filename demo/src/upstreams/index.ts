import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { handleAnthropic } from './anthropic.ts';
import { AZURE_PATH, handleAzure } from './azure.ts';
import { BEDROCK_PATH, handleBedrock } from './bedrock.ts';
import { handleCohere } from './cohere.ts';
import { GEMINI_PATH, handleGemini } from './gemini.ts';
import { maskCredential, parseJson, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { handleMistral } from './mistral.ts';
import { handleOpenAi } from './openai.ts';
import { handleOpenAiEmbeddings, handleOpenAiResponses } from './openai-extra.ts';
import { generateDemoPki } from './pki.ts';
import { handleTogether } from './together.ts';

export type UpstreamProvider = 'openai' | 'anthropic' | 'bedrock' | 'gemini' | 'azure_openai' | 'mistral' | 'together' | 'cohere';

/** One request that reached a mock provider, as the provider saw it. */
export interface ReceivedRequest {
  provider: UpstreamProvider;
  path: string;
  /** lower-case header names; `authorization`, `x-api-key` and `proxy-authorization` are masked */
  headers: Record<string, string>;
  /** the parsed JSON body, or the raw text when it was not JSON */
  body: unknown;
  /** ISO-8601 arrival time */
  at: string;
}

/** A running mock of the provider APIs; see {@link startMockUpstreams}. */
export interface MockUpstreams {
  /** `https://HOST:PORT`, one TLS server for every provider */
  url: string;
  host: string;
  port: number;
  /** PEM of the demo CA that signed the server certificate; trust it to call the mock */
  caCertPem: string;
  /** every request routed to a provider, in arrival order (including ones the mock rejected) */
  received: ReceivedRequest[];
  count(provider?: UpstreamProvider): number;
  /** forgets the received requests */
  reset(): void;
  close(): Promise<void>;
}

export interface MockUpstreamsOptions {
  /** 0 (the default) picks a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** pause between streamed SSE frames; default 5 ms so a proxy sees deltas in separate reads */
  chunkDelayMs?: number;
}

/**
 * One provider endpoint: its host pattern (`*` = one DNS label), and its path,
 * exact or a pattern for paths that carry a name (Azure deployments).
 * Requests for a provider's host are matched against that host's routes only;
 * requests for any other name (localhost, 127.0.0.1) by path, first match wins.
 */
interface Route {
  provider: UpstreamProvider;
  host: string;
  path: string | RegExp;
  handle: (req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing) => Promise<void>;
}

const ROUTES: readonly Route[] = [
  { provider: 'openai', host: 'api.openai.com', path: '/v1/chat/completions', handle: handleOpenAi },
  { provider: 'openai', host: 'api.openai.com', path: '/v1/responses', handle: handleOpenAiResponses },
  { provider: 'openai', host: 'api.openai.com', path: '/v1/embeddings', handle: handleOpenAiEmbeddings },
  { provider: 'anthropic', host: 'api.anthropic.com', path: '/v1/messages', handle: handleAnthropic },
  { provider: 'bedrock', host: 'bedrock-runtime.us-east-1.amazonaws.com', path: BEDROCK_PATH, handle: handleBedrock },
  { provider: 'gemini', host: 'generativelanguage.googleapis.com', path: GEMINI_PATH, handle: handleGemini },
  { provider: 'azure_openai', host: '*.openai.azure.com', path: AZURE_PATH, handle: handleAzure },
  { provider: 'mistral', host: 'api.mistral.ai', path: '/v1/chat/completions', handle: handleMistral },
  { provider: 'together', host: 'api.together.xyz', path: '/v1/chat/completions', handle: handleTogether },
  { provider: 'together', host: 'api.together.ai', path: '/v1/chat/completions', handle: handleTogether },
  { provider: 'cohere', host: 'api.cohere.com', path: '/v2/chat', handle: handleCohere },
];
const MASKED_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'x-goog-api-key', 'api-key']);
// provider limits are larger, but nothing the demo sends comes close; this bounds a runaway client
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Starts mock provider upstreams on one HTTPS server — OpenAI (chat
 * completions, Responses, embeddings), Anthropic, Azure OpenAI deployments,
 * Mistral, Together, Cohere v2 chat, and the ROUTES below — speaking the real
 * wire formats (JSON and SSE streaming) so the official SDKs and the scanner's
 * parsers work against it unchanged. The server certificate is issued at
 * start by a fresh in-memory demo CA for the provider hosts in
 * UPSTREAM_DNS_NAMES, localhost and 127.0.0.1.
 *
 * @example
 * const upstreams = await startMockUpstreams();
 * try { ... } finally { await upstreams.close(); }
 */
export async function startMockUpstreams(opts: MockUpstreamsOptions = {}): Promise<MockUpstreams> {
  const host = opts.host ?? '127.0.0.1';
  const pacing: StreamPacing = { chunkDelayMs: opts.chunkDelayMs ?? 5 };
  const pki = await generateDemoPki();
  const received: ReceivedRequest[] = [];

  // HTTP/2 with HTTP/1.1 for clients that do not offer it (ALPN), like the providers' own front ends.
  // Node's compatibility API gives HTTP/2 requests the surface the routes use (headers, url, method,
  // writeHead, write, end, flushHeaders, headersSent, destroy); `clientGone` covers `res.destroyed`,
  // which it lacks, and `flattenHeaders` maps `:authority` to `host`.
  const server: Http2SecureServer = createSecureServer({ key: pki.keyPem, cert: pki.certPem, allowHTTP1: true }, (h2req, h2res) => {
    const req = h2req as unknown as IncomingMessage;
    const res = h2res as unknown as ServerResponse;
    route(req, res, received, pacing).catch((err: unknown) => {
      // a fault in the mock itself: report it as a server error, never as the caller's
      if (!res.headersSent) sendJson(res, 500, {}, { error: { message: 'mock upstream internal error', type: 'server_error', param: null, code: null } });
      else res.destroy(err instanceof Error ? err : undefined);
    });
  });

  // an HTTP/2 server has no closeAllConnections(): close() destroys what is still open
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `https://${urlHost}:${port}`,
    host,
    port,
    caCertPem: pki.caCertPem,
    received,
    count: (provider) => (provider === undefined ? received.length : received.filter((r) => r.provider === provider).length),
    reset: () => {
      received.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, received: ReceivedRequest[], pacing: StreamPacing): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const hostHeader = (req.headers.host ?? req.headers[':authority'] ?? '').toString().replace(/:\d+$/, '').toLowerCase();
  const target = findRoute(hostHeader, path);
  // a request for one provider's host on another provider's path is a 404 there too
  if (target === undefined) {
    sendJson(res, 404, {}, { error: { message: `Unknown request URL: ${req.method ?? ''} ${path}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    req.resume();
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { allow: 'POST' }, { error: { message: `Method ${req.method ?? ''} not allowed on ${path}.`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } });
    req.resume();
    return;
  }

  const rawBody = await readBody(req);
  if (rawBody === undefined) {
    sendJson(res, 413, {}, { error: { message: 'Request body too large.', type: 'invalid_request_error', param: null, code: 'request_too_large' } });
    return;
  }
  const headers = flattenHeaders(req.headers);
  const json = parseJson(rawBody);
  received.push({
    provider: target.provider,
    path,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, MASKED_HEADERS.has(k) ? maskCredential(v) : v])),
    body: json.ok ? json.value : rawBody,
    at: new Date().toISOString(),
  });
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const request: UpstreamRequest = { path, query, headers, rawBody, json };
  await target.handle(request, res, pacing);
}

function findRoute(host: string, path: string): Route | undefined {
  const ownRoutes = ROUTES.filter((r) => hostMatches(r.host, host));
  const candidates = ownRoutes.length > 0 ? ownRoutes : ROUTES;
  return candidates.find((r) => (typeof r.path === 'string' ? r.path === path : r.path.test(path)));
}

function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && host.length > suffix.length;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // HTTP/2: the pseudo-headers are the request line; `:authority` is what HTTP/1.1 calls `host`
    if (name === ':authority') flat.host ??= String(value);
    else if (!name.startsWith(':')) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
