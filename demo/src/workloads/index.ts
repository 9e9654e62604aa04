import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch, Pool, ProxyAgent } from 'undici';
import { WORKLOAD_SCRIPTS, type Prompt, type WorkloadScript } from './scripts.ts';

export { WORKLOAD_SCRIPTS, type Prompt, type WorkloadScript };

/** A simulated pod: where it runs, how it is labelled, and which provider and model it calls. */
export interface DemoWorkload {
  namespace: string;
  app: string;
  /** the pod IP: the source address its calls leave from (a 127.0.0.0/8 loopback address) */
  ip: string;
  labels: Record<string, string>;
  provider: 'openai' | 'anthropic';
  model: string;
}

const SCAN = { 'higgs.scan': 'enabled' } as const;
const ENFORCE = { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } as const;

/**
 * The demo's three workloads: two sanctioned, enforce-labelled apps and one
 * scan-only sandbox experiment calling a provider nobody approved (shadow AI).
 */
export const DEMO_WORKLOADS: readonly DemoWorkload[] = Object.freeze([
  { namespace: 'support', app: 'support-bot', ip: '127.0.1.1', labels: { app: 'support-bot', ...ENFORCE }, provider: 'openai', model: 'gpt-4o-mini' },
  { namespace: 'rag', app: 'internal-rag', ip: '127.0.1.2', labels: { app: 'internal-rag', ...ENFORCE }, provider: 'anthropic', model: 'claude-sonnet-4-6' },
  { namespace: 'sandbox', app: 'experiment', ip: '127.0.1.3', labels: { app: 'experiment', ...SCAN }, provider: 'openai', model: 'gpt-4o' },
] satisfies DemoWorkload[]);

/**
 * The scanner's local-mode workloads file for these workloads:
 * `{"workloads":[{namespace, app, ips:[ip], labels, cgroup?}]}`. `cgroups`
 * (`namespace/app` → cgroup v2 directory) names the pods the kernel
 * primitives act on and the TLS tap observes.
 */
export function workloadsFileContent(ws: readonly DemoWorkload[] = DEMO_WORKLOADS, cgroups: Readonly<Record<string, string>> = {}): string {
  const workloads = ws.map((w) => {
    const cgroup = cgroups[`${w.namespace}/${w.app}`];
    return { namespace: w.namespace, app: w.app, ips: [w.ip], labels: { ...w.labels }, ...(cgroup ? { cgroup } : {}) };
  });
  return `${JSON.stringify({ workloads }, null, 2)}\n`;
}

/** The script a workload follows. */
export function scriptFor(w: DemoWorkload): WorkloadScript {
  const script = WORKLOAD_SCRIPTS[`${w.namespace}/${w.app}`];
  // a workload without its own script still produces plausible, PII-free traffic
  return script ?? { users: ['demo-user'], prompts: [{ id: `${w.app}/hello`, text: 'summarise the benefits of code review', stream: false, expects: { pii: [], injection: false } }] };
}

/** Official SDK clients whose traffic leaves through the scanner proxy. Close them when done. */
export interface SdkClients {
  openai: OpenAI;
  anthropic: Anthropic;
  close(): Promise<void>;
}

export interface SdkClientOptions {
  /** the scanner's explicit proxy, `http://host:port` (HTTPS_PROXY style, CONNECT tunnels) */
  proxyUrl: string;
  /** PEM of the scanner's CA, the only root these clients trust for provider hosts */
  caCertPem: string;
  /** source address for connections to the proxy, so the scanner attributes calls by "pod IP" */
  localAddress?: string;
  /** per-request timeout; default 30 s */
  timeoutMs?: number;
}

/**
 * A workload with no proxy settings: it connects straight to its provider's
 * address (what DNS would give for api.openai.com), trusting the provider's
 * CA, one connection per call.
 */
export interface DirectRoute {
  host: string;
  port: number;
  caCertPem: string;
}

// Fake credentials: the mock upstreams only check that one is present.
const DEMO_OPENAI_KEY = 'sk-demo-higgs-openai-key-0001';
const DEMO_ANTHROPIC_KEY = 'sk-ant-demo-higgs-anthropic-key-0001';

/**
 * Builds the official OpenAI and Anthropic clients on their default base URLs
 * (https://api.openai.com, https://api.anthropic.com), tunnelled through the
 * proxy with CONNECT and trusting only the given CA. With `localAddress`, every
 * connection to the proxy is bound to that source address.
 *
 * The clients use the undici package's own `fetch`: Node 20's built-in fetch
 * bundles undici 6, whose dispatcher protocol differs from the undici 7 agent.
 */
export function createSdkClients(opts: SdkClientOptions): SdkClients {
  const localAddress = opts.localAddress;
  const dispatcher = new ProxyAgent({
    uri: opts.proxyUrl,
    requestTls: { ca: opts.caCertPem },
    // the proxy connection is made by this client; binding it is what sets the source IP the proxy sees
    clientFactory: (origin, options) => new Pool(origin, localAddress === undefined ? options : { ...options, localAddress }),
  });
  return sdkClients(dispatcher, opts.timeoutMs);
}

/**
 * The same clients for an unconfigured workload: no proxy, no Higgs CA, a
 * fresh connection per call (`pipelining: 0` turns keep-alive off), so each
 * call is a connect the kernel sees, observes and can refuse.
 */
export function createDirectSdkClients(route: DirectRoute, opts: { localAddress?: string; timeoutMs?: number } = {}): SdkClients {
  const dispatcher = new Agent({
    pipelining: 0,
    connect: (o, callback) => {
      // DNS stand-in: the provider's name stays in SNI and Host, the address is the route's
      const socket = tlsConnect({
        host: route.host, port: route.port, servername: o.servername ?? o.hostname, ca: route.caCertPem, ALPNProtocols: ['http/1.1'],
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      // the handshake of a connection a quarantine caught half-open gets no answer (the kernel drops its packets): give up, as undici's own connector would
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('TLS connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), 5_000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        callback(null, socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        callback(err, null);
      });
      return socket;
    },
  });
  return sdkClients(dispatcher, opts.timeoutMs);
}

function sdkClients(dispatcher: Agent | ProxyAgent, timeoutMs: number | undefined): SdkClients {
  // The SDKs type `dispatcher` as Node's bundled undici-types; ours is the undici package's, same protocol.
  const fetchOptions = { dispatcher } as unknown as NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetchOptions'];
  const fetch = undiciFetch as unknown as typeof globalThis.fetch;
  const common = { fetch, fetchOptions, maxRetries: 0, timeout: timeoutMs ?? 30_000 };
  return {
    openai: new OpenAI({ apiKey: DEMO_OPENAI_KEY, ...common }),
    anthropic: new Anthropic({ apiKey: DEMO_ANTHROPIC_KEY, ...common }),
    close: () => dispatcher.close(),
  };
}

interface CallOutcomeBase {
  namespace: string;
  app: string;
  provider: 'openai' | 'anthropic';
  model: string;
  promptId: string;
  userId: string;
  traceId: string;
  stream: boolean;
  /** ISO-8601 start time */
  at: string;
  durationMs: number;
}

/**
 * How one call ended. `blocked` is the scanner refusing it (the SDK raised a
 * 403 PermissionDeniedError); `error` is anything else that went wrong: other
 * HTTP errors (`status` set), connection refused or reset, timeouts.
 */
export type CallOutcome =
  | (CallOutcomeBase & {
      kind: 'ok';
      text: string;
      finishReason: string | null;
      usage: { inputTokens: number; outputTokens: number } | null;
      requestId: string | null;
    })
  | (CallOutcomeBase & { kind: 'blocked'; status: number; message: string; requestId: string | null })
  | (CallOutcomeBase & { kind: 'error'; status: number | null; message: string });

export interface CallOptions {
  userId: string;
  /** 32 lower-case hex digits; a fresh one when absent */
  traceId?: string;
  /** default: the prompt's own `stream` */
  stream?: boolean;
  signal?: AbortSignal;
}

type OkFields = { text: string; finishReason: string | null; usage: { inputTokens: number; outputTokens: number } | null; requestId: string | null };

/**
 * Sends one prompt as workload `w`, with W3C `traceparent`
 * (`00-<traceId>-<spanId>-01`) and `baggage: user.id=<userId>` headers. Never
 * throws for a failed call: blocks and errors come back as outcomes.
 */
export async function callOnce(clients: Pick<SdkClients, 'openai' | 'anthropic'>, w: DemoWorkload, prompt: Prompt, opts: CallOptions): Promise<CallOutcome> {
  const traceId = opts.traceId ?? randomBytes(16).toString('hex');
  const stream = opts.stream ?? prompt.stream;
  const started = Date.now();
  const base = (): CallOutcomeBase => ({
    namespace: w.namespace,
    app: w.app,
    provider: w.provider,
    model: w.model,
    promptId: prompt.id,
    userId: opts.userId,
    traceId,
    stream,
    at: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  });
  const requestOptions = {
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, baggage: `user.id=${encodeBaggageValue(opts.userId)}` },
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  try {
    const ok = w.provider === 'openai'
      ? await callOpenAi(clients.openai, w.model, prompt, stream, requestOptions)
      : await callAnthropic(clients.anthropic, w.model, prompt, stream, requestOptions);
    return { ...base(), kind: 'ok', ...ok };
  } catch (err) {
    return failureOutcome(base(), err);
  }
}

async function callOpenAi(client: OpenAI, model: string, prompt: Prompt, stream: boolean, options: OpenAI.RequestOptions): Promise<OkFields> {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    ...(prompt.system === undefined ? [] : [{ role: 'system' as const, content: prompt.system }]),
    { role: 'user', content: prompt.text },
  ];
  if (!stream) {
    const { data, request_id } = await client.chat.completions.create({ model, messages }, options).withResponse();
    const usage = data.usage ? { inputTokens: data.usage.prompt_tokens, outputTokens: data.usage.completion_tokens } : null;
    return { text: data.choices[0]?.message.content ?? '', finishReason: data.choices[0]?.finish_reason ?? null, usage, requestId: request_id ?? null };
  }
  const { data: chunks, request_id } = await client.chat.completions
    .create({ model, messages, stream: true, stream_options: { include_usage: true } }, options)
    .withResponse();
  let text = '';
  let finishReason: string | null = null;
  let usage: OkFields['usage'] = null;
  for await (const chunk of chunks) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    finishReason = choice?.finish_reason ?? finishReason;
    if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
  }
  return { text, finishReason, usage, requestId: request_id ?? null };
}

async function callAnthropic(client: Anthropic, model: string, prompt: Prompt, stream: boolean, options: Anthropic.RequestOptions): Promise<OkFields> {
  const params = {
    model,
    max_tokens: 512,
    ...(prompt.system === undefined ? {} : { system: prompt.system }),
    messages: [{ role: 'user' as const, content: prompt.text }],
  };
  if (!stream) {
    const { data, request_id } = await client.messages.create(params, options).withResponse();
    return {
      text: data.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
      finishReason: data.stop_reason,
      usage: { inputTokens: data.usage.input_tokens, outputTokens: data.usage.output_tokens },
      requestId: request_id ?? null,
    };
  }
  const { data: events, request_id } = await client.messages.create({ ...params, stream: true }, options).withResponse();
  let text = '';
  let finishReason: string | null = null;
  let inputTokens = 0;
  let outputTokens = 0;
  for await (const event of events) {
    if (event.type === 'message_start') inputTokens = event.message.usage.input_tokens;
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    else if (event.type === 'message_delta') {
      finishReason = event.delta.stop_reason;
      outputTokens = event.usage.output_tokens;
    }
  }
  return { text, finishReason, usage: { inputTokens, outputTokens }, requestId: request_id ?? null };
}

function failureOutcome(base: CallOutcomeBase, err: unknown): CallOutcome {
  const apiError = err instanceof OpenAI.APIError || err instanceof Anthropic.APIError ? err : undefined;
  const status = typeof apiError?.status === 'number' ? apiError.status : null;
  if (status === 403) {
    return { ...base, kind: 'blocked', status, message: apiErrorMessage(apiError?.error) ?? 'blocked', requestId: requestIdOf(apiError) };
  }
  return { ...base, kind: 'error', status, message: describeError(err) };
}

function apiErrorMessage(body: unknown): string | undefined {
  // both providers nest the human message under `error.message`; Anthropic wraps the body once more
  const inner = isRecord(body) && isRecord(body.error) ? body.error : body;
  return isRecord(inner) && typeof inner.message === 'string' ? inner.message : undefined;
}

function requestIdOf(err: { headers?: Headers | undefined } | undefined): string | null {
  return err?.headers?.get('x-request-id') ?? err?.headers?.get('request-id') ?? null;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // connection errors hide the useful part (ECONNREFUSED, ECONNRESET) in the cause chain
  const cause = err.cause instanceof Error ? `: ${describeError(err.cause)}` : '';
  const errno = (err as Error & { code?: unknown }).code;
  const code = typeof errno === 'string' ? ` (${errno})` : '';
  return `${err.message}${code}${cause}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Percent-encodes only what a W3C baggage value may not hold, so `alice@corp` stays readable. */
function encodeBaggageValue(value: string): string {
  return value.replace(/[^\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/g, (ch) => encodeURIComponent(ch));
}

export interface RunWorkloadsOptions {
  proxyUrl: string;
  caCertPem: string;
  /** pause between two calls of one workload; default 2000 ms */
  intervalMs?: number;
  signal: AbortSignal;
  onOutcome?: (o: CallOutcome) => void;
  /** default DEMO_WORKLOADS */
  workloads?: readonly DemoWorkload[];
  /** call the provider directly instead of through `proxyUrl` (an unconfigured workload) */
  direct?: DirectRoute;
}

/**
 * Drives every workload until `signal` aborts: each one, from its own source
 * IP, sends the next prompt of its script as the next user, then waits
 * `intervalMs`. Failed calls are reported through `onOutcome`, never thrown,
 * so the loop keeps going through blocks, proxy restarts and quarantines.
 */
export async function runWorkloads(opts: RunWorkloadsOptions): Promise<void> {
  const workloads = opts.workloads ?? DEMO_WORKLOADS;
  const intervalMs = opts.intervalMs ?? 2000;
  await Promise.all(
    workloads.map(async (w, index) => {
      const clients = opts.direct
        // a call in flight when its namespace is quarantined hangs (the kernel drops its packets): cut it at 10 s, not the SDK's 30
        ? createDirectSdkClients(opts.direct, { localAddress: w.ip, timeoutMs: 10_000 })
        : createSdkClients({ proxyUrl: opts.proxyUrl, caCertPem: opts.caCertPem, localAddress: w.ip });
      try {
        // stagger the workloads so their calls interleave instead of arriving in bursts
        await pause((intervalMs * index) / workloads.length, opts.signal);
        for (let i = 0; !opts.signal.aborted; i++) {
          const { prompt, userId } = pick(scriptFor(w), i);
          const outcome = await withChildSignal(opts.signal, (signal) => callOnce(clients, w, prompt, { userId, signal }));
          if (opts.signal.aborted) break;
          try {
            opts.onOutcome?.(outcome);
          } catch {
            // a faulty observer must not stop the traffic it observes
          }
          await pause(intervalMs, opts.signal);
        }
      } finally {
        await clients.close();
      }
    }),
  );
}

/**
 * The i-th call of a script: prompts in order, users rotating one step
 * further on each pass so every user eventually sends every prompt.
 */
export function pick(script: WorkloadScript, i: number): { prompt: Prompt; userId: string } {
  const n = script.prompts.length;
  const pass = Math.floor(i / n);
  // prompt p goes to user p + pass: each pass shifts every prompt to the next user
  const prompt = script.prompts[i % n]!;
  const userId = script.users[((i % n) + pass) % script.users.length]!;
  return { prompt, userId };
}

/**
 * Runs `fn` with a per-call signal that follows `parent`. The SDKs and undici add
 * abort listeners to the signal of every request and do not all remove them, so
 * handing them the loop's long-lived signal grows its listener list without bound.
 */
async function withChildSignal<T>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const child = new AbortController();
  const follow = () => child.abort(parent.reason);
  parent.addEventListener('abort', follow, { once: true });
  try {
    return await fn(child.signal);
  } finally {
    parent.removeEventListener('abort', follow);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  await delay(ms, undefined, { signal }).catch(() => undefined);
}
