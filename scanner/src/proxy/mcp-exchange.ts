import { randomUUID } from 'node:crypto';
import { type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { EnforcementDecision, PiiType, ToolCall, Verdict } from '@higgs/schema';
import { injectionScore, redactText, scanText } from '../detectors/index.ts';
import {
  blockedToolResult, describeResult, type JsonRpcId, jsonRpcResponses, McpEventStream, type McpRequest, type McpResult, parseMcpRequests,
  redactMcpRequest, sseMessage,
} from '../providers/mcp/index.ts';
import { workloadRef } from '../workloads/index.ts';
import type { RuleClass, RuleOutcome } from '../rules/index.ts';
import { DEFAULT_ENFORCEMENT } from './enforcement.ts';
import { applyFailModes, attributorOf, decision, readBody, type InspectContext, type Origin } from './exchange.ts';
import { dedupe } from './inspect.ts';
import { forwardHeaders } from './upstream.ts';

/**
 * Legacy HTTP+SSE sessions seen through this proxy, by the POST endpoint their
 * event stream announced: answers to POSTed requests arrive on the stream, and
 * a blocked request is answered there too.
 */
export interface McpSessions {
  byEndpoint: Map<string, LegacySession>;
}

interface LegacySession {
  /** writes one JSON-RPC message into the client's event stream, between events */
  inject(message: unknown): void;
  pending: Map<string, Pending>;
}

interface Pending {
  request: McpRequest;
  /** records the call once: with the server's result, or with none and why */
  finish(result: McpResult | null, statusError?: string | null): void;
}

export function createMcpSessions(): McpSessions {
  return { byEndpoint: new Map() };
}

// a request body larger than this is relayed but not inspected; MCP requests are small
const MAX_INSPECT_BYTES = 4 * 1024 * 1024;

/**
 * One HTTP request to an MCP server: JSON-RPC requests are read, each tool
 * call's input is scanned and decided before anything reaches the server;
 * a blocked call is answered by the proxy with a tool error (`isError: true`)
 * in the framing the client expects (JSON, SSE, or the legacy session's event
 * stream); a redacted call is forwarded with its arguments redacted. Every
 * request with an id becomes a ToolCall when its response is seen.
 */
export async function handleMcpExchange(
  ctx: InspectContext, sessions: McpSessions, origin: Origin, req: IncomingMessage, res: ServerResponse, path: string,
): Promise<void> {
  const started = Date.now();
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch {
    res.destroy();
    return;
  }
  const source = workloadRef(origin.srcIp, ctx.workloads.resolve(origin.srcIp));
  const attribution = attributorOf(ctx).attribute({ headers: req.headers, srcIp: source.ip, providerUser: null });
  ctx.sessions?.track({ sessionId: attribution.sessionId, upstreamHost: ctx.upstream.target(origin.host, origin.port).host, req, res });
  const method = req.method ?? 'GET';

  let json: unknown;
  let requests: McpRequest[] = [];
  const encoded = !['', 'identity'].includes(String(req.headers['content-encoding'] ?? '').toLowerCase());
  if (method === 'POST' && !encoded && body.length <= MAX_INSPECT_BYTES) {
    try {
      json = JSON.parse(body.toString('utf8'));
      requests = parseMcpRequests(json) ?? [];
    } catch {
      requests = [];
    }
  }

  // ---- decide, per request; the deadline counts inspection only, from the body being read
  const inspectHr = process.hrtime.bigint();
  const policy = ctx.policy();
  const settings = ctx.enforcement ?? DEFAULT_ENFORCEMENT;
  const enforce = source.mode === 'enforce';
  const kernel = policy?.isQuarantined(source.namespace) ? 'quarantine' : policy?.isSessionBlocked(attribution.sessionId) ? 'session_kill' : null;
  const decideOne = (r: McpRequest) => {
    const unavailable = new Set<RuleClass>();
    let scanned: ReturnType<typeof scanText> | null = null;
    let detectorsFailed = false;
    let score = 0;
    try {
      scanned = r.input === null ? null : scanText(r.input, 'tool_input', ctx.hashSalt);
      score = r.input ? injectionScore(r.input) : 0;
    } catch (err) {
      // the rules that need detections cannot be decided: their class's fail mode decides (below)
      unavailable.add('pii').add('injection');
      detectorsFailed = true;
      ctx.logger.error({ err, path }, 'detectors failed on an MCP request');
    }
    let outcome: RuleOutcome = { hits: [], failures: [] };
    if (policy && r.method !== 'initialize') {
      try {
        outcome = policy.decide({
          provider: 'mcp', model: null, host: origin.host, namespace: source.namespace, app: source.app, userId: attribution.userId,
          // tool rules match the tool input as the prompt (promptContains / promptPattern)
          promptText: r.input ?? '', detections: scanned?.detections ?? [], injectionScore: score,
          toolNames: r.toolName ? [r.toolName] : [],
        }, { unavailable, deadlineNs: inspectHr + BigInt(Math.round(settings.evaluationBudgetUs * 1000)) });
      } catch (err) {
        ctx.logger.error({ err, path }, 'policy evaluation failed on an MCP request');
        outcome = { hits: [], failures: [{ ruleId: '', ruleName: 'policy evaluation', action: 'block', ruleClass: 'content', reason: 'error' }] };
      }
    }
    const hits = outcome.hits;
    const latencyUs = Number(process.hrtime.bigint() - inspectHr) / 1000;
    const callId = `tool_${randomUUID()}`;
    const decisions: EnforcementDecision[] = [];
    const base = { scannerId: ctx.scannerId, callId, sessionId: attribution.sessionId, source };
    let verdict: Verdict = 'allow';
    let blockMessage: string | null = null;
    let redactTypes: Set<PiiType> | null | undefined;
    if (kernel) {
      decisions.push(decision(base, { ruleId: null, action: 'block', primitive: kernel, latencyUs, matchedField: kernel === 'quarantine' ? 'namespace' : 'session', matchedHash: null }));
      verdict = 'block';
      blockMessage = kernel === 'quarantine' ? `Blocked by Higgs policy: namespace ${source.namespace ?? ''} is quarantined` : 'Blocked by Higgs policy: session terminated';
    }
    // exactly the LLM path's fail modes: closed classes deny enforce traffic, open ones are counted, alerted and recorded uninspected
    const failed = applyFailModes(ctx, settings, enforce, outcome.failures, base, latencyUs);
    decisions.push(...failed.decisions);
    if (failed.refusal && !kernel) {
      verdict = 'block';
      blockMessage = failed.refusal.message.replace(/^Request blocked/, 'Blocked');
    }
    const refused = verdict === 'block';
    const top = hits[0];
    for (const hit of hits) {
      const action: Verdict = refused || !enforce ? 'alert' : hit === top ? hit.action : hit.action === 'redact' && top!.action === 'redact' ? 'redact' : 'alert';
      decisions.push(decision(base, { ruleId: hit.ruleId, action, primitive: 'inline', latencyUs, matchedField: hit.matchedField, matchedHash: hit.matchedHash }));
      if (action === 'redact') redactTypes = hit.redactTypes === null || redactTypes === null ? null : new Set([...(redactTypes ?? []), ...hit.redactTypes]);
    }
    if (!refused && top) {
      verdict = enforce ? top.action : 'alert';
      if (verdict === 'block') blockMessage = `Blocked by Higgs policy: ${top.ruleName}`;
    }
    return { request: r, scanned, hits, decisions, verdict, blockMessage, redactTypes, callId, uninspected: failed.failedOpen || detectorsFailed };
  };
  // Observe traffic is never held up by inspection: forwarded as it came, inspected on the next
  // event-loop turn, each call recorded once both its answer and its inspection are done.
  const inline = enforce || kernel !== null;
  const decided = inline ? requests.map(decideOne) : [];
  const evaluated: Promise<Array<ReturnType<typeof decideOne>>> = inline ? Promise.resolve(decided) : new Promise((resolve) => setImmediate(() => resolve(requests.map(decideOne))));

  const record = (d: ReturnType<typeof decideOne>, result: McpResult | null, statusError: string | null): void => {
    const out = result?.output == null ? null : scanText(result.output, 'tool_output', ctx.hashSalt);
    const call: ToolCall = {
      id: d.callId,
      scannerId: ctx.scannerId,
      ts: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      host: origin.host.slice(0, 253),
      method: d.request.method.slice(0, 128),
      toolName: d.request.toolName?.slice(0, 256) ?? null,
      input: d.scanned?.masked ?? null,
      output: out?.masked ?? statusError,
      isError: result?.isError ?? statusError !== null,
      source,
      attribution,
      detections: dedupe([...(d.scanned?.detections ?? []), ...(out?.detections ?? [])]),
      verdict: d.verdict,
      ruleIds: d.hits.map((h) => h.ruleId),
      ...(d.uninspected ? { uninspected: true } : {}),
    };
    if (d.verdict === 'block') ctx.stats.blocked += 1;
    if (d.verdict === 'redact') ctx.stats.redacted += 1;
    if (d.verdict === 'alert') ctx.stats.alerted += 1;
    ctx.record({ kind: 'tool_call', event: call });
    for (const dec of d.decisions) ctx.record({ kind: 'decision', event: dec });
  };

  // ---- block: the server never sees the message
  const legacy = sessions.byEndpoint.get(endpointKey(origin, path));
  if (decided.some((d) => d.verdict === 'block')) {
    const answers = decided.map((d) => (d.request.method === 'tools/call'
      ? blockedToolResult(d.request.id, d.blockMessage ?? 'Blocked by Higgs policy')
      : { jsonrpc: '2.0', id: d.request.id, error: { code: -32000, message: d.blockMessage ?? 'Blocked by Higgs policy: another request in this batch was blocked' } }));
    if (legacy) {
      res.writeHead(202, { 'content-type': 'text/plain' }).end('Accepted');
      for (const a of answers) legacy.inject(a);
    } else if (acceptsJson(req.headers.accept)) {
      const payload = JSON.stringify(Array.isArray(json) ? answers : answers[0]);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).end(answers.map(sseMessage).join(''));
    }
    for (const d of decided) record(d, { output: d.blockMessage, isError: true }, null);
    return;
  }

  // ---- forward
  const headers = forwardHeaders(req.headers);
  let outBody = body;
  const redacting = decided.filter((d) => d.verdict === 'redact');
  if (redacting.length > 0) {
    const types = redacting.some((d) => d.redactTypes === null) ? null : new Set(redacting.flatMap((d) => [...(d.redactTypes ?? [])]));
    outBody = Buffer.from(JSON.stringify(redactMcpRequest(json, (t) => redactText(t, types))));
  }
  if (method !== 'GET' && method !== 'HEAD') headers['content-length'] = String(outBody.length);

  const pending = new Map<string, Pending>(requests.map((r, i) => {
    let done = false;
    return [String(r.id), {
      request: r,
      finish: (result: McpResult | null, statusError: string | null = null): void => {
        if (done) return;
        done = true;
        // after the answer, outside any caller's catch: a failure costs the record (counted, said), never the process
        void evaluated.then((ds) => record(ds[i]!, result, statusError)).catch((err: unknown) => {
          ctx.stats.dropped += 1;
          ctx.logger.error({ err, path, id: String(r.id) }, 'recording the tool call failed; it is not recorded');
        });
      },
    }];
  }));
  const finishAll = (statusError: string | null): void => {
    for (const p of pending.values()) p.finish(null, statusError);
    pending.clear();
  };
  const settle = (m: Record<string, unknown>, into: Map<string, Pending>): void => {
    const id = m.id as JsonRpcId | undefined;
    const p = id === undefined ? undefined : into.get(String(id));
    if (!p) return;
    into.delete(String(id));
    p.finish(describeResult(p.request.method, m));
  };

  const target = ctx.upstream.target(origin.host, origin.port);
  const upReq = (origin.tls ? httpsRequest : httpRequest)({
    host: target.host, port: target.port, method, path, headers,
    agent: origin.tls ? ctx.upstream.https : ctx.upstream.http,
    ...(origin.tls ? { servername: isIP(origin.host) ? '' : origin.host, secureContext: ctx.upstream.secureContext } : {}),
  });
  upReq.on('error', (err: NodeJS.ErrnoException) => {
    if (!res.headersSent) {
      const msg = `Higgs proxy could not reach ${origin.host}:${origin.port} (${err.code ?? err.message})`;
      res.writeHead(502, { 'content-type': 'text/plain' }).end(msg);
    } else {
      res.destroy();
    }
    finishAll(`upstream: ${err.code ?? err.message}`);
  });
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  upReq.on('response', (upRes) => {
    const status = upRes.statusCode ?? 502;
    res.writeHead(status, upRes.statusMessage, forwardHeaders(upRes.headers));
    res.flushHeaders();
    const type = String(upRes.headers['content-type'] ?? '');
    const plain = ['', 'identity'].includes(String(upRes.headers['content-encoding'] ?? '').toLowerCase());
    if (/text\/event-stream/i.test(type) && plain) {
      relayEventStream(sessions, origin, upRes, res, (m, session) => settle(m, session ? session.pending : pending));
    } else {
      const chunks: Buffer[] = [];
      let size = 0;
      upRes.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_INSPECT_BYTES) chunks.push(c);
        res.write(c);
      });
      upRes.on('end', () => {
        res.end();
        if (/json/i.test(type) && plain && size <= MAX_INSPECT_BYTES) {
          try {
            for (const m of jsonRpcResponses(JSON.parse(Buffer.concat(chunks).toString('utf8')))) settle(m, pending);
          } catch {
            // not JSON: recorded without output below
          }
        }
        if (status === 202 && legacy) {
          // the answers come on the session's event stream
          for (const [id, p] of pending) legacy.pending.set(id, p);
          pending.clear();
          return;
        }
        finishAll(status >= 400 ? `HTTP ${status}` : null);
      });
      upRes.on('error', () => finishAll('upstream closed the response early'));
      return;
    }
    upRes.on('end', () => finishAll(null));
    upRes.on('close', () => finishAll(upRes.complete ? null : 'upstream closed the response early'));
  });
  upReq.end(method === 'GET' || method === 'HEAD' ? undefined : outBody);
}

/**
 * Relays an event stream byte for byte while reading it: JSON-RPC messages go
 * to `onMessage`; a legacy `endpoint` event registers the session so its
 * POSTs are matched and blocked answers can be injected — only between
 * events, never inside one.
 */
function relayEventStream(
  sessions: McpSessions, origin: Origin, upRes: IncomingMessage, res: ServerResponse,
  onMessage: (m: Record<string, unknown>, session: LegacySession | null) => void,
): void {
  const utf8 = new TextDecoder();
  let session: LegacySession | null = null;
  let key: string | null = null;
  let atBoundary = true;
  const queued: string[] = [];
  const stream = new McpEventStream({
    onMessage: (m) => onMessage(m, session),
    onEndpoint: (uri) => {
      let endpoint: URL;
      try {
        endpoint = new URL(uri, `http://${origin.host}`);
      } catch {
        return;
      }
      key = endpointKey(origin, `${endpoint.pathname}${endpoint.search}`);
      session = {
        pending: new Map(),
        inject: (message) => {
          const frame = sseMessage(message);
          if (atBoundary && !res.destroyed) res.write(frame);
          else queued.push(frame);
        },
      };
      sessions.byEndpoint.set(key, session);
    },
  });
  let tail = '';
  // an event the decoder gives up on (over its bound) ends the reading, never the relay: the bytes still flow
  let reading = true;
  const read = (step: () => void): void => {
    if (!reading) return;
    try {
      step();
    } catch {
      reading = false;
    }
  };
  upRes.on('data', (c: Buffer) => {
    res.write(c);
    const text = utf8.decode(c, { stream: true });
    read(() => stream.push(text));
    tail = (tail + text).slice(-4);
    atBoundary = /(?:\r?\n\r?\n|\r\r)$/.test(tail);
    if (atBoundary) for (const f of queued.splice(0)) res.write(f);
  });
  const closed = (): void => {
    if (key !== null && sessions.byEndpoint.get(key) === session) sessions.byEndpoint.delete(key);
    for (const p of (session as LegacySession | null)?.pending.values() ?? []) p.finish(null, 'the session stream closed before the answer');
  };
  upRes.on('end', () => {
    read(() => stream.end());
    res.end();
    closed();
  });
  upRes.on('close', closed);
  res.on('close', () => upRes.destroy());
}

function endpointKey(origin: Origin, path: string): string {
  return `${origin.host.toLowerCase()}:${origin.port}${path}`;
}

/** JSON unless the client accepts only event streams (Streamable HTTP clients send both). */
function acceptsJson(accept: string | undefined): boolean {
  return accept === undefined || /application\/json|\*\/\*/i.test(accept);
}



