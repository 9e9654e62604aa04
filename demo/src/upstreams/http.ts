import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/** What a provider route gets: the request as received, body not yet parsed. */
export interface UpstreamRequest {
  path: string;
  /** the query string (Azure's `api-version`) */
  query: URLSearchParams;
  headers: Record<string, string>;
  rawBody: string;
  json: ParsedJson;
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false };

/** How the stream writer paces deltas: a few milliseconds apart so a proxy sees them in separate reads. */
export interface StreamPacing {
  chunkDelayMs: number;
}

export function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

/**
 * Writes SSE frames one by one, pausing between them, and stops early when
 * the client goes away (a killed session or an aborted SDK stream).
 */
export async function sendEventStream(
  res: ServerResponse,
  headers: Record<string, string>,
  frames: readonly string[],
  pacing: StreamPacing,
): Promise<void> {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // HTTP/2 forbids connection headers (RFC 9113 §8.2.2)
    ...(isHttp2(res) ? {} : { connection: 'keep-alive' }),
  });
  res.flushHeaders();
  for (const frame of frames) {
    if (clientGone(res)) return;
    res.write(frame);
    if (pacing.chunkDelayMs > 0) await delay(pacing.chunkDelayMs);
  }
  res.end();
}

/** true for a response of the HTTP/2 compatibility API (the mock serves both protocols through the same routes) */
export function isHttp2(res: ServerResponse): boolean {
  return 'stream' in res;
}

/**
 * true once the client went away (a killed session, an aborted SDK stream):
 * `res.destroyed` over HTTP/1.1; an HTTP/2 response has no such field, its stream does.
 */
export function clientGone(res: ServerResponse): boolean {
  if (isHttp2(res)) return (res as unknown as { stream: { destroyed: boolean } }).stream.destroyed;
  return res.destroyed;
}

export function parseJson(raw: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Random id in the providers' style: prefix + base62-ish characters. */
export function providerId(prefix: string, length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

/**
 * The text of a chat message's content in either provider's shape: a string,
 * or an array of parts/blocks of which the `text` ones count.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text.length > 0)
    .join('\n');
}

/**
 * Masks a credential for the received log: the scheme and the last four
 * characters stay (as provider dashboards show keys), the rest is starred.
 */
export function maskCredential(value: string): string {
  const match = /^(\S+\s+)?(\S*)$/.exec(value.trim());
  const scheme = match?.[1] ?? '';
  const secret = match?.[2] ?? '';
  return `${scheme}****${secret.length > 8 ? secret.slice(-4) : ''}`;
}
