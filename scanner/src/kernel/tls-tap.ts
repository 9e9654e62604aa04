import { randomUUID } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { SocketTuple } from '@higgs/bpf';
import type { Detection, EnforcementDecision, IngestEvent, LlmCall } from '@higgs/schema';
import { hashValue, injectionScore, scanText } from '../detectors/index.ts';
import { decision } from '../proxy/exchange.ts';
import type { CompiledPolicy, RuleInput } from '../rules/index.ts';
import { parserFor, providerForHost } from '../providers/index.ts';
import type { ParsedRequest, ParsedResponse, ProviderParser } from '../providers/types.ts';
import { attribute } from '../sessions/index.ts';
import { normalizeIp, workloadRef, type Workload } from '../workloads/index.ts';
import type { HttpExchange, HttpMessage } from './http-reassembly.ts';

/** What turning an exchange into an LlmCall needs. */
export interface TlsTapContext {
  scannerId: string;
  hashSalt: string;
  identityHeader: string;
  /** converts a CLOCK_MONOTONIC ns stamp to wall-clock ms */
  wallMs(tsNs: bigint): number;
  /** the compiled policy the proxy enforces (the same object), or null before the first one arrives */
  policy?: () => CompiledPolicy | null;
}

/** A call seen by the TLS tap and the decisions the policy took on it (recorded, never applied). */
export interface TlsObserved {
  call: LlmCall;
  decisions: EnforcementDecision[];
}

/**
 * The note every tap decision carries in `matchedField`: the tap reads
 * plaintext after the fact and cannot block or redact, so a `block` or
 * `redact` rule is recorded as action `alert` with what it would have done,
 * e.g. `tls_tap:would_block:prompt`.
 */
export const tapNote = (wouldDo: string, field: string | null): string => `tls_tap:would_${wouldDo}${field ? `:${field}` : ''}`.slice(0, 64);

/** Where the exchange came from, as the uprobe events said. */
export interface TlsSource {
  cgroupId: bigint;
  pid: number;
  comm: string;
  workload: Workload | null;
  /**
   * The TCP connection it travelled on, as the workload sees it (`local` its
   * own end), or null when the kernel could not tell: then the call has no
   * source address, as before the tuple was captured.
   */
  socket: SocketTuple | null;
}

/**
 * An LlmCall (`tap: 'tls'`) from one exchange reassembled from TLS plaintext,
 * through the same provider parsers, detectors and compiled policy as the
 * proxy. Observe-only: nothing could have been changed, so every matching rule
 * (request or response) is an `alert` decision noting what it would have done
 * (`tapNote`), and the call's verdict is `alert` when one matched, else
 * `allow`. Returns
 * null for an exchange that is not an AI API call (no parser knows its path).
 * A capture that missed bytes is still recorded: `uninspected` and an `error`
 * saying how many bytes were not seen.
 */
export function tlsCall(ctx: TlsTapContext, ex: HttpExchange, src: TlsSource): TlsObserved | null {
  const [method = '', path = ''] = ex.request.startLine.split(' ');
  // HTTP/1.1 requires Host; without one the server's address is the best name there is
  const hostHeader = (ex.request.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  const host = hostHeader || normalizeIp(src.socket?.remote.address ?? '');
  const route = method && path ? parserFor(method, path, host || undefined) : null;
  if (!route) return null;
  const provider = providerForHost(host) ?? (route.parser.provider === 'openai' ? 'openai_compatible' : route.parser.provider);
  let parsed: ParsedRequest | null = null;
  try {
    parsed = route.parser.parseRequest(route.endpoint, JSON.parse(decode(ex.request).toString('utf8')), path);
  } catch {
    parsed = null;
  }
  const response = ex.response ? parseResponse(route.parser, ex.response) : null;
  const status = ex.response ? Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(ex.response.startLine)?.[1] ?? 0) : 0;
  const missing = ex.request.missingBytes + (ex.response?.missingBytes ?? 0);
  const partial = missing > 0 || !ex.request.complete || (ex.response !== null && !ex.response.complete);

  const detections: Detection[] = [];
  const scan = (text: string, field: Detection['field']): string => {
    const s = scanText(text, field, ctx.hashSalt);
    detections.push(...s.detections);
    return s.masked;
  };
  const system = parsed?.system != null ? scan(parsed.system, 'system') : null;
  const messages = (parsed?.messages ?? []).map((m) => ({ ...m, content: scan(m.content, m.role === 'tool' ? 'tool_output' : m.toolName ? 'tool_input' : 'prompt') }));
  const requestDetections = dedupe(detections);
  const content = response?.content != null ? scan(response.content, 'response') : null;
  const toolCalls = (response?.toolCalls ?? []).map((t) => ({ ...t, input: scan(t.input, 'tool_input') }));
  // the workload's own address, as the proxy sees a client's: attribution and sessions key on it alike
  const source = workloadRef(src.socket?.local.address ?? '', src.workload);
  const started = ctx.wallMs(ex.request.firstNs);
  const ended = ctx.wallMs(ex.response?.lastNs ?? ex.request.lastNs);
  const errors = [
    partial ? `tls capture incomplete: ${missing} bytes not captured${ex.response ? '' : ', no response seen'}` : null,
    response?.error ?? null,
  ].filter((e): e is string => e !== null);
  const attribution = attribute({ headers: ex.request.headers, srcIp: source.ip, providerUser: parsed?.providerUser ?? null, identityHeader: ctx.identityHeader });
  const promptText = (parsed?.messages ?? []).map((m) => m.content).join('\n');
  const score = injectionScore(promptText);
  const id = `call_${randomUUID()}`;

  // ---- the policy, as the proxy decides it, recorded as alerts
  const decisions: EnforcementDecision[] = [];
  const ruleIds = new Set<string>();
  const policy = ctx.policy?.() ?? null;
  if (policy) {
    const base = { scannerId: ctx.scannerId, callId: id, sessionId: attribution.sessionId, source };
    const input: RuleInput = {
      provider, model: parsed?.model ?? null, host: host || 'unknown', namespace: source.namespace, app: source.app, userId: attribution.userId,
      promptText, detections: requestDetections, injectionScore: score,
      toolNames: parsed ? [...parsed.tools, ...parsed.messages.flatMap((m) => (m.toolName ? [m.toolName] : []))] : [],
      toolInputText: parsed?.messages.filter((m) => m.toolName && m.role !== 'tool').map((m) => m.content).join('\n') ?? '',
      toolOutputText: parsed?.messages.filter((m) => m.role === 'tool').map((m) => m.content).join('\n') ?? '',
    };
    const t0 = process.hrtime.bigint();
    const us = () => Number(process.hrtime.bigint() - t0) / 1000;
    try {
      const outcome = policy.decide(input);
      const latencyUs = us();
      for (const hit of outcome.hits) {
        const matchedHash = hit.matchedHash ?? (hit.matchedText !== null ? hashValue(ctx.hashSalt, hit.matchedText.toLowerCase()) : null);
        decisions.push(decision(base, { ruleId: hit.ruleId, action: 'alert', primitive: 'inline', latencyUs, matchedField: tapNote(hit.action, hit.matchedField), matchedHash }));
        ruleIds.add(hit.ruleId);
      }
      for (const f of outcome.failures) {
        decisions.push(decision(base, { ruleId: f.ruleId || null, action: 'alert', primitive: 'inline', latencyUs, matchedField: `tls_tap:not_evaluated:${f.reason}`, matchedHash: null }));
      }
      const text = response?.content ?? null;
      const matcher = text !== null && policy.hasResponseRules ? policy.responseRules(input) : null;
      const seen = new Set<string>();
      for (const m of matcher?.find(text!) ?? []) {
        if (seen.has(m.ruleId)) continue; // one decision per rule, as the proxy records
        seen.add(m.ruleId);
        decisions.push(decision(base, { ruleId: m.ruleId, action: 'alert', primitive: 'inline', latencyUs: us(), matchedField: tapNote(m.action, 'response'), matchedHash: hashValue(ctx.hashSalt, m.text.toLowerCase()) }));
        ruleIds.add(m.ruleId);
      }
    } catch (err) {
      decisions.push(decision(base, { ruleId: null, action: 'alert', primitive: 'inline', latencyUs: us(), matchedField: 'tls_tap:not_evaluated:error', matchedHash: null }));
      errors.push(`policy evaluation failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const call: LlmCall = {
    id,
    scannerId: ctx.scannerId,
    ts: new Date(started).toISOString(),
    durationMs: Math.max(0, ended - started),
    tap: 'tls',
    provider,
    endpoint: (parsed?.endpoint ?? route.endpoint).slice(0, 64),
    host: (host || 'unknown').slice(0, 253),
    path: path.slice(0, 2048),
    parsed: parsed !== null,
    model: parsed?.model?.slice(0, 256) ?? null,
    stream: parsed?.stream ?? false,
    system,
    messages,
    tools: parsed?.tools ?? [],
    response: response ? { content, finishReason: response.finishReason, toolCalls } : null,
    usage: response?.usage ?? null,
    status,
    error: errors.length ? errors.join('; ').slice(0, 4096) : null,
    source,
    attribution,
    detections: dedupe(detections),
    injectionScore: score,
    verdict: ruleIds.size ? 'alert' : 'allow',
    ruleIds: [...ruleIds],
    ...(partial ? { uninspected: true } : {}),
  };
  return { call, decisions };
}

/** The ingest event for a call. */
export const llmCallEvent = (call: LlmCall): IngestEvent => ({ kind: 'llm_call', event: call });

function parseResponse(parser: ProviderParser, m: HttpMessage): ParsedResponse | null {
  try {
    const body = decode(m);
    if (/text\/event-stream|application\/vnd\.amazon\.eventstream/i.test(m.headers['content-type'] ?? '')) {
      const stream = parser.streamParser();
      if (stream.pushBytes) stream.pushBytes(body);
      else stream.push(body.toString('utf8'));
      return stream.end();
    }
    return body.length ? parser.parseResponse(JSON.parse(body.toString('utf8'))) : null;
  } catch {
    return null;
  }
}

// a captured body decodes to at most this: a compressed body is the sender's to make inflate a thousandfold
const MAX_DECODED_BYTES = 16 * 1024 * 1024;

function decode(m: HttpMessage): Buffer {
  const bound = { maxOutputLength: MAX_DECODED_BYTES };
  switch ((m.headers['content-encoding'] ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return m.body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(m.body, bound);
    case 'br':
      return brotliDecompressSync(m.body, bound);
    case 'deflate':
      return inflateSync(m.body, bound);
    default:
      throw new TypeError(`unsupported content-encoding ${m.headers['content-encoding']}`);
  }
}

function dedupe(ds: Detection[]): Detection[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.type}|${d.field}|${d.hash}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
