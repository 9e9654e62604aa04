/**
 * The three-hop demo path of cross-hop attribution: real HTTP services on
 * loopback, each bound to its own source address (its "pod IP").
 *
 *   browser ──JWT──▶ A frontdoor ──(through the scanner proxy: JWT + traceparent)──▶ B orders-api
 *                                                  ──(direct: traceparent only)──▶ C summariser ──openai SDK via proxy──▶ LLM
 *
 * A authenticates the user (HS256 JWT) and calls B with the user's bearer token
 * and a new W3C trace; B knows no user and calls C with the trace only; C calls
 * the LLM. The scanner sees the A→B hop (plain HTTP through its explicit proxy)
 * and C's LLM call, and attributes C's call to A's user with userSource 'trace'.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSdkClients, type DemoWorkload, type SdkClients } from '../workloads/index.ts';

const SCAN = { 'higgs.scan': 'enabled' } as const;

/** The three hops as workloads of the scanner's local workloads file. */
export const HOP_WORKLOADS: readonly DemoWorkload[] = Object.freeze([
  { namespace: 'web', app: 'frontdoor', ip: '127.0.2.1', labels: { app: 'frontdoor', ...SCAN }, provider: 'openai', model: 'gpt-4o-mini' },
  { namespace: 'orders', app: 'orders-api', ip: '127.0.2.2', labels: { app: 'orders-api', ...SCAN }, provider: 'openai', model: 'gpt-4o-mini' },
  { namespace: 'orders', app: 'summariser', ip: '127.0.2.3', labels: { app: 'summariser', ...SCAN }, provider: 'openai', model: 'gpt-4o-mini' },
] satisfies DemoWorkload[]);
const [FRONTDOOR, ORDERS, SUMMARISER] = HOP_WORKLOADS as [DemoWorkload, DemoWorkload, DemoWorkload];

export interface ThreeHopOptions {
  /** the scanner's explicit proxy, `http://host:port` */
  proxyUrl: string;
  /** PEM of the scanner's CA (C's OpenAI client trusts only it) */
  caCertPem: string;
  /** HS256 secret A verifies user tokens with; default a random one (see `tokenFor`) */
  jwtSecret?: string;
}

export interface ThreeHops {
  /** A's URL: `POST /orders/:id/summary` with `Authorization: Bearer <user JWT>` */
  frontdoorUrl: string;
  /** B's URL: `GET /orders/:id` (internal, no user) */
  ordersUrl: string;
  /** a user token A accepts: HS256, `sub` and `email`, valid for an hour */
  tokenFor(email: string): string;
  /** what C answered per trace id, for assertions */
  readonly llmCalls: ReadonlyArray<{ traceId: string; model: string; text: string }>;
  close(): Promise<void>;
}

/** One hop of the path, named by its app. */
export type HopRole = 'frontdoor' | 'orders-api' | 'summariser';
export const HOP_ROLES: readonly HopRole[] = ['frontdoor', 'orders-api', 'summariser'];

export interface HopOptions {
  /** the scanner's explicit proxy, `http://host:port` */
  proxyUrl: string;
  /** PEM of the scanner's CA (C's OpenAI client trusts only it) */
  caCertPem: string;
  /** A: the HS256 secret user tokens are verified with */
  jwtSecret: string;
  /** A: where B listens; B: where C listens; null until known (the hop answers 503 meanwhile) */
  next: () => { port: number } | null;
  /** C: each LLM answer, by trace */
  onLlmCall?: (call: { traceId: string; model: string; text: string }) => void;
}

/** A running hop: its port on its own loopback address (the workload's `ip`). */
export interface Hop {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts one hop of the path on its own loopback address. `startThreeHops`
 * runs all three in this process; the launcher's cgroup pods run each in its
 * own process and cgroup.
 */
export async function startHop(role: HopRole, opts: HopOptions): Promise<Hop> {
  const servers: Server[] = [];
  const sdk = role === 'summariser' ? createSdkClients({ proxyUrl: opts.proxyUrl, caCertPem: opts.caCertPem, localAddress: SUMMARISER.ip }) : null;
  const close = async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    })));
    await sdk?.close();
  };
  try {
    const port = await listen(servers, HOP_WORKLOADS.find((w) => w.app === role)!.ip, handlerFor(role, opts, sdk));
    return { port, close };
  } catch (err) {
    await close();
    throw err;
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function handlerFor(role: HopRole, opts: HopOptions, sdk: SdkClients | null): Handler {
  if (role === 'summariser') {
    // C: summarises an order with the LLM, propagating the trace it was called in
    return async (req, res) => {
      const trace = traceOf(req);
      const body = JSON.parse(await readText(req)) as { order: string };
      const completion = await sdk!.openai.chat.completions.create(
        { model: SUMMARISER.model, messages: [{ role: 'user', content: `Summarise this order for the customer: ${body.order}` }] },
        { headers: trace ? { traceparent: childOf(trace) } : {} },
      );
      const text = completion.choices[0]?.message.content ?? '';
      opts.onLlmCall?.({ traceId: trace?.traceId ?? '', model: SUMMARISER.model, text });
      json(res, 200, { summary: text });
    };
  }
  if (role === 'orders-api') {
    // B: knows orders, not users; calls C directly with the trace only
    return async (req, res) => {
      const trace = traceOf(req);
      const id = /^\/orders\/([\w-]+)$/.exec(req.url ?? '')?.[1];
      if (!id) return json(res, 404, { error: 'no such order' });
      const c = opts.next();
      if (!c) return json(res, 503, { error: 'summariser not reachable yet' });
      const out = await send({
        host: SUMMARISER.ip, port: c.port, path: '/summarise', localAddress: ORDERS.ip,
        headers: trace ? { traceparent: childOf(trace) } : {},
        body: JSON.stringify({ order: `order ${id}: 2 x espresso beans, shipped` }),
      });
      json(res, out.status, JSON.parse(out.body));
    };
  }
  const proxy = new URL(opts.proxyUrl);
  // A: authenticates the user, starts the trace, calls B through the node's proxy with the user's token
  return async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !verifyHs256(token, opts.jwtSecret)) return json(res, 401, { error: 'unauthenticated' });
    const id = /^\/orders\/([\w-]+)\/summary$/.exec(req.url ?? '')?.[1];
    if (!id) return json(res, 404, { error: 'not found' });
    const b = opts.next();
    if (!b) return json(res, 503, { error: 'orders-api not reachable yet' });
    const trace = traceOf(req) ?? { traceId: randomBytes(16).toString('hex') };
    const out = await send({
      // plain HTTP through an explicit proxy: the absolute URI is the request target
      host: proxy.hostname, port: Number(proxy.port), path: `http://${ORDERS.ip}:${b.port}/orders/${id}`, localAddress: FRONTDOOR.ip,
      headers: { host: `${ORDERS.ip}:${b.port}`, authorization: `Bearer ${token}`, traceparent: childOf(trace) },
      method: 'GET',
    });
    json(res, out.status, { ...JSON.parse(out.body) as object, traceId: trace.traceId });
  };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A user token the frontdoor accepts: HS256 with `sub` and `email`, valid for an hour. */
export function signUserToken(secret: string, email: string): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `user-${email.split('@')[0]}`, email, iat: now, exp: now + 3600 })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Starts C, then B, then A in this process, each listening on its own loopback address; `close()` stops all three. */
export async function startThreeHops(opts: ThreeHopOptions): Promise<ThreeHops> {
  const secret = opts.jwtSecret ?? randomBytes(32).toString('base64url');
  const llmCalls: Array<{ traceId: string; model: string; text: string }> = [];
  const hops: Hop[] = [];
  const close = async () => {
    await Promise.all(hops.map((h) => h.close()));
  };
  try {
    const common = { proxyUrl: opts.proxyUrl, caCertPem: opts.caCertPem, jwtSecret: secret };
    const c = await startHop('summariser', { ...common, next: () => null, onLlmCall: (call) => llmCalls.push(call) });
    hops.push(c);
    const b = await startHop('orders-api', { ...common, next: () => c });
    hops.push(b);
    const a = await startHop('frontdoor', { ...common, next: () => b });
    hops.push(a);
    return {
      frontdoorUrl: `http://${FRONTDOOR.ip}:${a.port}`,
      ordersUrl: `http://${ORDERS.ip}:${b.port}`,
      tokenFor: (email) => signUserToken(secret, email),
      llmCalls,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function verifyHs256(token: string, secret: string): boolean {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return false;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  if (expected !== s) return false;
  try {
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { exp?: number };
    return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000;
  } catch {
    return false;
  }
}

function traceOf(req: IncomingMessage): { traceId: string } | null {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(String(req.headers.traceparent ?? ''));
  return m ? { traceId: m[1]! } : null;
}

/** A traceparent for a new span of the trace (each hop is its own span). */
function childOf(trace: { traceId: string }): string {
  return `00-${trace.traceId}-${randomBytes(8).toString('hex')}-01`;
}

async function listen(servers: Server[], host: string, handle: Handler): Promise<number> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 502, { error: err instanceof Error ? err.message : String(err) }));
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function send(p: {
  host: string; port: number; path: string; localAddress: string; headers: Record<string, string>; body?: string; method?: string;
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: p.host, port: p.port, path: p.path, localAddress: p.localAddress, method: p.method ?? 'POST',
      headers: { ...p.headers, ...(p.body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      readText(res).then((body) => resolve({ status: res.statusCode ?? 502, body }), reject);
    });
    req.on('error', reject);
    req.end(p.body);
  });
}

function readText(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
