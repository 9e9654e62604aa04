import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, createInflate, gunzipSync, inflateSync } from 'node:zlib';
import type { Detection, EnforcementDecision, IngestEvent, LlmCall, PiiType, Verdict } from '@higgs/schema';
import { hashValue, redactText, scanText } from '../detectors/index.ts';
import type { Logger } from '../logger.ts';
import { parserFor, providerForHost } from '../providers/index.ts';
import type { ParsedRequest, ParsedResponse, ProviderParser, StreamParser } from '../providers/types.ts';
import type { CompiledPolicy, ResponseMatcher, RuleClass, RuleHit, RuleInput, RuleOutcome } from '../rules/index.ts';
import type { SessionConnections } from '../sessions/connections.ts';
import { type Attributor, createAttributor } from '../attribution/index.ts';
import type { ScannerStats } from '../stats.ts';
import { workloadRef, type WorkloadSource } from '../workloads/index.ts';
import { DEFAULT_ENFORCEMENT, type EnforcementSettings, guardResponse } from './enforcement.ts';
import type { InspectionOffload } from './inspect-offload.ts';
import { dedupe, inspect, promptTextOf, type DecisionAndRecord, type Inspected } from './inspect.ts';
import { forwardHeaders, type Upstream } from './upstream.ts';

/** Everything the inspected path needs, wired once by the scanner. */
export interface InspectContext {
  scannerId: string;
  hashSalt: string;
  identityHeader: string;
  workloads: WorkloadSource;
  policy: () => CompiledPolicy | null;
  record: (event: IngestEvent) => void;
  upstream: Upstream;
  stats: ScannerStats;
  logger: Logger;
  /** fail modes and limits; absent = DEFAULT_ENFORCEMENT (every class fails closed) */
  enforcement?: EnforcementSettings;
  /** which connections carry which session while a request is in flight: a kill resets them */
  sessions?: SessionConnections;
  /** user and session of each call, stitched across hops on the trace; absent = one per context from identityHeader */
  attributor?: Attributor;
  /**
   * false: no PII, secret or injection detection on LLM calls (measuring the
   * proxy's own cost). Rules that need detections are then undecidable and
   * fail by their class's mode, and message text is not recorded (it was not
   * scanned for what to mask). Absent = true.
   */
  detectors?: boolean;
  /** where large requests are inspected, off the event loop (inspect-offload.ts); absent = every request on it */
  offload?: InspectionOffload | undefined;
}

const fallbackAttributors = new WeakMap<InspectContext, Attributor>();

/** The context's attributor: the scanner wires one; a context built without one (tests) gets its own. */
export function attributorOf(ctx: InspectContext): Attributor {
  if (ctx.attributor) return ctx.attributor;
  let a = fallbackAttributors.get(ctx);
  if (!a) fallbackAttributors.set(ctx, (a = createAttributor({ identityHeader: ctx.identityHeader })));
  return a;
}

/** The connection an inspected request arrived on. */
export interface Origin {
  host: string;
  port: number;
  srcIp: string;
  tls: boolean;
}

// a response body larger than this, buffered or streamed, is relayed in full but not parsed
export const MAX_PARSE_BYTES = 16 * 1024 * 1024;

/**
 * One request to an AI host: parse, detect, decide (before any byte reaches
 * the provider), then block, or forward (redacted or as is) and parse the
 * response as it streams back to the client; finally record the LlmCall and
 * the decisions. Nothing here throws into the server: every failure ends in a
 * response to the client and a recorded call.
 */
export async function handleExchange(ctx: InspectContext, origin: Origin, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const started = Date.now();
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch {
    res.destroy();
    return; // the client went away before sending its request
  }
  const method = req.method ?? 'GET';
  const settings = ctx.enforcement ?? DEFAULT_ENFORCEMENT;
  // an over-limit body is not parsed: refused on enforce, passed through uninspected on observe (below);
  // so is a compressed one that decodes past the limit (0.5 MB of gzip inflated to 512 MB, 1.3 s of the event loop)
  let overLimit = body.length > settings.maxBodyBytes;
  let decodedOverLimit = false;
  const route = overLimit ? null : parserFor(method, path, origin.host);
  const provider = providerForHost(origin.host) ?? (route ? (route.parser.provider === 'openai' ? 'openai_compatible' : route.parser.provider) : 'unknown');
  let json: unknown;
  let parsed: ParsedRequest | null = null;
  if (route) {
    try {
      json = JSON.parse(decode(body, req.headers['content-encoding'], settings.maxBodyBytes).toString('utf8'));
      parsed = route.parser.parseRequest(route.endpoint, json, path);
    } catch (err) {
      parsed = null;
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') overLimit = decodedOverLimit = true;
    }
  }

  const workload = ctx.workloads.resolve(origin.srcIp);
  const source = workloadRef(origin.srcIp, workload);
  const attribution = attributorOf(ctx).attribute({ headers: req.headers, srcIp: source.ip, providerUser: parsed?.providerUser ?? null });
  const target = ctx.upstream.target(origin.host, origin.port);
  ctx.sessions?.track({ sessionId: attribution.sessionId, upstreamHost: target.host, req, res });
  const policy = ctx.policy();
  const callId = `call_${randomUUID()}`;
  const decisionBase = { scannerId: ctx.scannerId, callId, sessionId: attribution.sessionId, source };
  const enforce = source.mode === 'enforce';
  let inspected: Inspected | null = null;
  let ruleInput: RuleInput | null = null;
  let hits: RuleHit[] = [];
  let uninspected = overLimit;
  const responseRuleIds: string[] = [];
  const decisions: EnforcementDecision[] = [];
  // assigned inside evaluate(): declared wide so control-flow narrowing does not pin them to their initial values
  let verdict = 'allow' as Verdict;
  let refusal = null as { message: string; ruleId: string | null; decisionId: string; status?: number } | null;
  let latencyUs = 0;
  let redactTypes: Set<PiiType> | null | undefined;

  const kernelPrimitive = kernelRefusal(policy, source.namespace, attribution.sessionId);
  if (kernelPrimitive) {
    // quarantine and session kill act on the namespace / session whatever the workload's inline-enforcement label
    const d = decision(decisionBase, { ruleId: null, action: 'block', primitive: kernelPrimitive, latencyUs: 0, matchedField: kernelPrimitive === 'quarantine' ? 'namespace' : 'session', matchedHash: null });
    decisions.push(d);
    verdict = 'block';
    refusal = {
      message: kernelPrimitive === 'quarantine'
        ? `Request blocked by Higgs policy: namespace ${source.namespace ?? ''} is quarantined`
        : 'Request blocked by Higgs policy: session terminated',
      ruleId: null,
      decisionId: d.id,
    };
  }

  // ---- detect and decide: inline for enforce traffic, after forwarding for observe traffic (below)
  const inline = enforce || kernelPrimitive !== null;
  // inline, the cheap pass decides unless a rule needs names or addresses; what is recorded gets the full pass in finish()
  const pass = inline && !policy?.needsFullPii ? 'structured' : 'full';
  // a large request is inspected in the worker, both passes at once (inspect-offload.ts)
  let offloaded: DecisionAndRecord | { error: unknown } | null = null;
  const offloading = parsed && ctx.detectors !== false && ctx.offload?.wants(parsed)
    ? ctx.offload.inspect(parsed, ctx.hashSalt, pass).then((r) => { offloaded = r; }, (error: unknown) => { offloaded = { error }; })
    : null;
  const evaluate = (): void => {
    const done = offloaded as typeof offloaded;
    // the budget counts the deciding inspection, wherever it ran: not the worker's start, nor its queue
    const inspectHr = process.hrtime.bigint() - BigInt(done && 'decidedUs' in done ? Math.round(done.decidedUs * 1000) : 0);
    const unavailable = new Set<RuleClass>();
    if (parsed && ctx.detectors === false) {
      unavailable.add('pii').add('injection');
    } else if (parsed) {
      try {
        if (done && 'error' in done) throw done.error;
        inspected = done ? done.decided : inspect(parsed, ctx.hashSalt, pass);
      } catch (err) {
        // the rules that need detections cannot be decided: their class's fail mode decides (below); if it goes
        // through, it went without its detections (and is recorded without its text, not known to be safe to keep)
        unavailable.add('pii').add('injection');
        uninspected = true;
        ctx.logger.error({ err, path }, 'detectors failed on a request');
      }
    }
    const input: RuleInput = {
      provider, model: parsed?.model ?? null, host: origin.host, namespace: source.namespace, app: source.app, userId: attribution.userId,
      // content rules need no detector: they still see the prompt when the detectors are off or failed
      promptText: inspected?.promptText ?? (parsed ? promptTextOf(parsed) : ''), detections: inspected?.detections ?? [], injectionScore: inspected?.injectionScore ?? 0,
      toolNames: parsed ? [...parsed.tools, ...parsed.messages.flatMap((m) => (m.toolName ? [m.toolName] : []))] : [],
      toolInputText: parsed?.messages.filter((m) => m.toolName && m.role !== 'tool').map((m) => m.content).join('\n') ?? '',
      toolOutputText: parsed?.messages.filter((m) => m.role === 'tool').map((m) => m.content).join('\n') ?? '',
    };
    ruleInput = input;
    let outcome: RuleOutcome = { hits: [], failures: [] };
    if (policy) {
      try {
        // the budget counts inspection only (from the body being read): a slow client upload must not push a benign call into fail-closed
        outcome = policy.decide(input, { unavailable, deadlineNs: inspectHr + BigInt(Math.round(settings.evaluationBudgetUs * 1000)) });
      } catch (err) {
        ctx.logger.error({ err, path }, 'policy evaluation failed');
        outcome = { hits: [], failures: [{ ruleId: '', ruleName: 'policy evaluation', action: 'block', ruleClass: 'content', reason: 'error' }] };
      }
    }
    hits = outcome.hits;
    latencyUs = Number(process.hrtime.bigint() - inspectHr) / 1000;
    if (overLimit) {
      const d = decision(decisionBase, { ruleId: null, action: enforce ? 'block' : 'alert', primitive: 'inline', latencyUs, matchedField: 'body_size', matchedHash: null });
      decisions.push(d);
      if (!enforce) ctx.logger.warn({ path, bytes: body.length }, 'request over the inspection limit passed uninspected (observe)');
      else {
        const size = decodedOverLimit ? `a body that decodes to more than ${settings.maxBodyBytes} bytes` : `a body of ${body.length} bytes`;
        refusal ??= { message: `Request blocked by Higgs policy: ${size} is over the ${settings.maxBodyBytes}-byte inspection limit`, ruleId: null, decisionId: d.id, status: 413 };
      }
    }
    const failed = applyFailModes(ctx, settings, enforce, outcome.failures, decisionBase, latencyUs);
    decisions.push(...failed.decisions);
    if (failed.failedOpen) uninspected = true;
    refusal ??= failed.refusal;
    const top = hits[0];
    for (const hit of hits) {
      const action = refusal ? 'alert' : appliedAction(hit, top!, enforce);
      const matchedHash = hit.matchedHash ?? (hit.matchedText !== null ? hashValue(ctx.hashSalt, hit.matchedText.toLowerCase()) : null);
      const d = decision(decisionBase, { ruleId: hit.ruleId, action, primitive: 'inline', latencyUs, matchedField: hit.matchedField, matchedHash });
      decisions.push(d);
      if (action === 'block') refusal ??= { message: `Request blocked by Higgs policy: ${hit.ruleName}`, ruleId: hit.ruleId, decisionId: d.id };
      if (action === 'redact') redactTypes = hit.redactTypes === null || redactTypes === null ? null : new Set([...(redactTypes ?? []), ...hit.redactTypes]);
    }
    if (!kernelPrimitive && top) verdict = enforce ? top.action : 'alert';
  };
  // Observe traffic is never held up by inspection: it is forwarded as it came and inspected on the
  // next turn of the event loop, recorded (alerts, fail-opens, detections) once both are done.
  const evaluateLogged = (): void => {
    try {
      evaluate();
    } catch (err) {
      ctx.logger.error({ err, path }, 'observe-mode inspection failed');
    }
  };
  const evaluated: Promise<void> = offloading
    ? (inline ? offloading.then(evaluate) : offloading.then(evaluateLogged))
    : inline ? Promise.resolve(evaluate()) : new Promise((resolve) => setImmediate(() => {
      evaluateLogged();
      resolve();
    }));
  // an inline decision is made before anything is forwarded
  if (inline && offloading) await evaluated;
  /** the response rules whose request-side conditions hold (after evaluation), memoised */
  let responseRules: ResponseMatcher | null | undefined;
  const responseRulesNow = (): ResponseMatcher | null => {
    if (responseRules !== undefined) return responseRules;
    responseRules = null;
    if (policy?.hasResponseRules && parsed && ruleInput) {
      try {
        responseRules = policy.responseRules(ruleInput);
      } catch (err) {
        ctx.logger.error({ err, path }, 'response rules failed');
      }
    }
    return responseRules;
  };

  /** The request as recorded: masked for every PII type, so the full pass where the inline one was the cheap pass. */
  const recordedRequest = (): Inspected | null => {
    const done = offloaded as typeof offloaded;
    if (done && 'recorded' in done) return done.recorded;
    if (inspected === null || inspected.pass === 'full' || parsed === null) return inspected;
    try {
      return inspect(parsed, ctx.hashSalt, 'full', inspected);
    } catch (err) {
      // text masked for the validated types only could still hold names: record none of it
      ctx.logger.error({ err, path }, 'detectors failed on a request after its decision');
      return { ...inspected, system: null, messages: [] };
    }
  };

  const finish = (status: number, response: ParsedResponse | null, error: string | null, outcome: Verdict): void => {
    const request = recordedRequest();
    const scannedResponse = response ? (ctx.detectors === false ? unscannedResponse(response) : scanResponse(response, ctx.hashSalt)) : null;
    const call: LlmCall = {
      id: callId,
      scannerId: ctx.scannerId,
      ts: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      tap: 'proxy',
      provider,
      endpoint: (parsed?.endpoint ?? route?.endpoint ?? 'other').slice(0, 64),
      host: origin.host.slice(0, 253),
      path: path.slice(0, 2048),
      parsed: parsed !== null,
      model: parsed?.model?.slice(0, 256) ?? null,
      stream: parsed?.stream ?? false,
      system: request?.system ?? null,
      messages: request?.messages ?? [],
      tools: parsed?.tools ?? [],
      response: scannedResponse?.response ?? null,
      usage: response?.usage ?? null,
      status,
      error: (error ?? response?.error ?? null)?.slice(0, 4096) ?? null,
      source,
      attribution,
      detections: dedupe([...(request?.detections ?? []), ...(scannedResponse?.detections ?? [])]),
      injectionScore: inspected?.injectionScore ?? 0,
      verdict: outcome,
      ruleIds: [...hits.map((h) => h.ruleId), ...responseRuleIds],
      ...(uninspected ? { uninspected: true } : {}),
    };
    ctx.stats.calls += 1;
    ctx.stats[call.parsed ? 'parsed' : 'unparsed'] += 1;
    if (outcome === 'block') ctx.stats.blocked += 1;
    if (outcome === 'redact') ctx.stats.redacted += 1;
    if (outcome === 'alert') ctx.stats.alerted += 1;
    ctx.record({ kind: 'llm_call', event: call });
    for (const d of decisions) ctx.record({ kind: 'decision', event: d });
  };

  // the chains that record the call run after the answer, outside any caller's catch: a failure there is an
  // unhandled rejection, which ends a Node process; it costs the record instead, counted and said
  const unrecorded = (err: unknown): void => {
    ctx.stats.dropped += 1;
    ctx.logger.error({ err, callId, path }, 'recording the call failed; it is not recorded');
  };

  // ---- block
  if (refusal) {
    const parser: ProviderParser = route?.parser ?? parserFor('POST', '/v1/chat/completions')!.parser;
    const payload = JSON.stringify(parser.blockedResponse(refusal));
    res.writeHead(refusal.status ?? 403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-higgs-decision': refusal.decisionId });
    res.end(payload);
    finish(refusal.status ?? 403, null, refusal.message, 'block');
    return;
  }

  // the client left before anything was forwarded (a large request waits for its inspection): the provider is
  // not called for nobody, and the call is recorded as it stands
  if (res.destroyed) {
    void evaluated.then(() => finish(0, null, 'client disconnected before the request was forwarded', verdict)).catch(unrecorded);
    return;
  }

  // ---- forward
  let outBody = body;
  const headers = forwardHeaders(req.headers);
  if (verdict === 'redact' && route && parsed) {
    const types = redactTypes ?? null;
    outBody = Buffer.from(JSON.stringify(route.parser.redactRequest(json, (t) => redactText(t, types))));
    delete headers['content-encoding'];
  }
  headers['content-length'] = String(outBody.length);

  const upReq = ctx.upstream.send({ tls: origin.tls, host: origin.host, port: origin.port, to: target, method, path, headers });
  let settled = false;
  upReq.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    const reason = `${err.code ?? err.name}: ${err.message}`;
    if (!res.headersSent) {
      const msg = JSON.stringify({
        error: { message: `Higgs proxy could not reach ${origin.host}:${origin.port} (${reason})`, type: 'higgs_upstream_error', param: null, code: 'upstream_unreachable' },
      });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(msg) }).end(msg);
    } else {
      res.destroy();
    }
    void evaluated.then(() => finish(502, null, `upstream: ${reason}`, verdict)).catch(unrecorded);
  });
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  // response rules act only on enforce traffic; on observe their matches are recorded as alerts once the call is done
  upReq.on('response', (upRes) => {
    const status = upRes.statusCode ?? 502;
    const guarded = enforce ? responseRulesNow() : null;
    if (guarded && route && status < 300) {
      const tap = responseTap(route.parser, upRes.headers['content-type'], undefined);
      res.on('close', () => { if (!res.writableFinished) upRes.destroy(); });
      void guardResponse(upRes, res, {
        matcher: guarded, parser: route.parser, maxBodyBytes: settings.maxBodyBytes,
        tap: (b) => tap.write(b),
        blockedBody: (m) => {
          const d = decision(decisionBase, { ruleId: m.ruleId, action: 'block', primitive: 'inline', latencyUs, matchedField: 'response', matchedHash: hashValue(ctx.hashSalt, m.text.toLowerCase()) });
          decisions.push(d);
          return { body: route.parser.blockedResponse({ message: `Response blocked by Higgs policy: ${m.ruleName}`, ruleId: m.ruleId, decisionId: d.id }), decisionId: d.id };
        },
      }).then(async (g) => {
        settled = true;
        if (g.uninspected) uninspected = true;
        const acted = new Set(decisions.map((d) => d.ruleId));
        for (const m of g.matches) {
          responseRuleIds.push(m.ruleId);
          if (acted.has(m.ruleId)) continue;
          acted.add(m.ruleId);
          decisions.push(decision(decisionBase, { ruleId: m.ruleId, action: m.action, primitive: 'inline', latencyUs, matchedField: 'response', matchedHash: hashValue(ctx.hashSalt, m.text.toLowerCase()) }));
        }
        const outcomeVerdict: Verdict = g.blocked ? 'block' : g.matches.some((m) => m.action === 'redact') && verdict === 'allow' ? 'redact' : verdict;
        // a buffered JSON answer was parsed once, by the guard; the tap saw only what the guard did not parse
        finish(g.status, g.json !== undefined ? parseResponseJson(route.parser, g.json) : await tap.end(), g.error, outcomeVerdict);
      }).catch(unrecorded);
      return;
    }
    res.writeHead(status, upRes.statusMessage, forwardHeaders(upRes.headers));
    const tap = parsed && route ? responseTap(route.parser, upRes.headers['content-type'], upRes.headers['content-encoding']) : null;
    upRes.on('data', (chunk: Buffer) => tap?.write(chunk));
    upRes.pipe(res);
    const end = (error: string | null): void => {
      if (settled) return;
      settled = true;
      void Promise.all([tap ? tap.end() : Promise.resolve(null), evaluated]).then(([response]) => {
        // observe (or a non-2xx answer): response rules are recorded as alerts, traffic untouched
        let outcomeVerdict = verdict;
        const rules = responseRulesNow();
        for (const m of response?.content && rules ? rules.find(response.content) : []) {
          if (responseRuleIds.includes(m.ruleId)) continue;
          responseRuleIds.push(m.ruleId);
          decisions.push(decision(decisionBase, { ruleId: m.ruleId, action: 'alert', primitive: 'inline', latencyUs, matchedField: 'response', matchedHash: hashValue(ctx.hashSalt, m.text.toLowerCase()) }));
          if (outcomeVerdict === 'allow') outcomeVerdict = 'alert';
        }
        finish(status, response, error, outcomeVerdict);
      }).catch(unrecorded);
    };
    upRes.on('end', () => end(null));
    upRes.on('error', (err) => end(`upstream: ${err.message}`));
    upRes.on('close', () => end(upRes.complete ? null : res.destroyed ? 'client disconnected' : 'upstream closed the response early'));
  });
  upReq.end(outBody);
}

/**
 * The rules a policy could not decide (error, timeout, detectors down), by
 * their class's fail mode: on enforce traffic a `closed` class blocks the call
 * (counted in `failClosed`); otherwise the call goes through, counted in
 * `failOpen`, recorded as uninspected and alerted (a decision and a warning).
 * Shared by the LLM and the MCP paths so both fail the same way.
 */
export function applyFailModes(
  ctx: Pick<InspectContext, 'stats' | 'logger'>, settings: EnforcementSettings, enforce: boolean, failures: RuleOutcome['failures'],
  base: Pick<EnforcementDecision, 'scannerId' | 'callId' | 'sessionId' | 'source'>, latencyUs: number,
): { decisions: EnforcementDecision[]; refusal: { message: string; ruleId: string | null; decisionId: string } | null; failedOpen: boolean } {
  const decisions: EnforcementDecision[] = [];
  let refusal: { message: string; ruleId: string | null; decisionId: string } | null = null;
  let failedOpen = false;
  for (const f of failures) {
    const ruleId = f.ruleId === '' ? null : f.ruleId;
    if (enforce && settings.failModes[f.ruleClass] === 'closed' && f.action !== 'alert') {
      const d = decision(base, { ruleId, action: 'block', primitive: 'inline', latencyUs, matchedField: `fail_closed:${f.reason}`, matchedHash: null });
      decisions.push(d);
      ctx.stats.failClosed += 1;
      refusal ??= { message: `Request blocked by Higgs policy: ${f.ruleName} could not be evaluated (${f.reason})`, ruleId, decisionId: d.id };
      continue;
    }
    failedOpen = true;
    ctx.stats.failOpen += 1;
    decisions.push(decision(base, { ruleId, action: 'alert', primitive: 'inline', latencyUs, matchedField: `fail_open:${f.reason}`, matchedHash: null }));
    ctx.logger.warn({ callId: base.callId, ruleId, ruleClass: f.ruleClass, reason: f.reason }, 'rule not evaluated: failing open');
  }
  return { decisions, refusal, failedOpen };
}

/**
 * Quarantine and session kill act before inspection on every request,
 * whatever the workload's mode. The hook point for per-session refusals
 * (kill_session): a killed session is refused here for each new request,
 * and its open connections are reset by the session tracker (`ctx.sessions`).
 */
function kernelRefusal(policy: CompiledPolicy | null, namespace: string | null, sessionId: string): 'quarantine' | 'session_kill' | null {
  if (policy?.isQuarantined(namespace)) return 'quarantine';
  if (policy?.isSessionBlocked(sessionId)) return 'session_kill';
  return null;
}

function appliedAction(hit: RuleHit, top: RuleHit, enforce: boolean): Verdict {
  if (!enforce) return 'alert'; // observe mode: a matching rule is recorded, traffic is never altered
  if (hit === top) return hit.action;
  if (hit.action === 'redact' && top.action === 'redact') return 'redact';
  return 'alert';
}

export function decision(
  base: Pick<EnforcementDecision, 'scannerId' | 'callId' | 'sessionId' | 'source'>,
  d: Pick<EnforcementDecision, 'ruleId' | 'action' | 'primitive' | 'latencyUs' | 'matchedField' | 'matchedHash'>,
): EnforcementDecision {
  return { id: `dec_${randomUUID()}`, ts: new Date().toISOString(), ...base, ...d };
}

/** With the detectors off: what the answer was, without its text (not scanned, so not known to be safe to keep). */
function unscannedResponse(r: ParsedResponse): { response: NonNullable<LlmCall['response']>; detections: Detection[] } {
  return { response: { content: null, finishReason: r.finishReason, toolCalls: [] }, detections: [] };
}

function parseResponseJson(parser: ProviderParser, json: unknown): ParsedResponse | null {
  try {
    return parser.parseResponse(json);
  } catch {
    return null;
  }
}

function scanResponse(r: ParsedResponse, salt: string): { response: NonNullable<LlmCall['response']>; detections: Detection[] } {
  const detections: Detection[] = [];
  let content: string | null = null;
  if (r.content !== null) {
    const s = scanText(r.content, 'response', salt);
    content = s.masked;
    detections.push(...s.detections);
  }
  const toolCalls = r.toolCalls.map((t) => {
    const s = scanText(t.input, 'tool_input', salt);
    detections.push(...s.detections);
    return { ...t, input: s.masked };
  });
  return { response: { content, finishReason: r.finishReason, toolCalls }, detections };
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed the request'));
    });
  });
}

/** The body as sent, decoded; throws ERR_BUFFER_TOO_LARGE (having inflated no more than that) past `maxBytes`. */
function decode(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const bound = { maxOutputLength: maxBytes };
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, bound);
    case 'br':
      return brotliDecompressSync(body, bound);
    case 'deflate':
      return inflateSync(body, bound);
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
}

/**
 * Parses a response as its bytes pass through: SSE incrementally, JSON at the end. Bounded like the
 * proxy: past `MAX_PARSE_BYTES` (decoded), streamed or not, the answer is relayed but not parsed,
 * and a stream the parser cannot read (a malformed frame, an event that never ends) is dropped
 * from parsing where it fails: the call is then recorded without its response, never the process
 * brought down from inside a 'data' handler.
 */
export function responseTap(parser: ProviderParser, contentType: string | undefined, encoding: string | undefined) {
  // SSE, and the AWS event-stream binary framing of Bedrock's streaming actions
  const sse = /text\/event-stream|application\/vnd\.amazon\.eventstream/i.test(contentType ?? '');
  let stream: StreamParser | null = sse ? parser.streamParser() : null;
  // only a text stream parser needs one (most answers are buffered JSON, or binary-framed)
  const utf8 = stream && !stream.pushBytes ? new TextDecoder('utf-8') : null;
  const chunks: Buffer[] = [];
  let size = 0;
  let broken = false;
  const consume = (b: Buffer): void => {
    if (broken) return;
    size += b.length;
    if (size > MAX_PARSE_BYTES) {
      // what was parsed or kept so far is let go: the answer is recorded without its content, as a buffered one is
      broken = true;
      stream = null;
      chunks.length = 0;
      return;
    }
    if (!stream) {
      chunks.push(b);
      return;
    }
    try {
      if (stream.pushBytes) stream.pushBytes(b);
      else stream.push(utf8!.decode(b, { stream: true }));
    } catch {
      broken = true;
      stream = null;
    }
  };
  const enc = (encoding ?? '').trim().toLowerCase();
  const inflater = enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'br' ? createBrotliDecompress() : enc === 'deflate' ? createInflate() : null;
  const unknownEncoding = inflater === null && enc !== '' && enc !== 'identity';
  inflater?.on('data', consume);
  inflater?.on('error', () => { broken = true; });
  const inflated = inflater ? new Promise<void>((resolve) => { inflater.on('end', resolve); inflater.on('error', () => resolve()); }) : Promise.resolve();

  return {
    write(b: Buffer): void {
      if (unknownEncoding || broken) return;
      if (inflater) inflater.write(b);
      else consume(b);
    },
    async end(): Promise<ParsedResponse | null> {
      if (unknownEncoding) return null;
      inflater?.end();
      await inflated;
      if (broken) return null;
      if (stream) {
        try {
          if (utf8) stream.push(utf8.decode());
          return stream.end();
        } catch {
          return null;
        }
      }
      if (size === 0) return null;
      let json: unknown;
      try {
        json = JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
      } catch {
        return null;
      }
      return parseResponseJson(parser, json);
    },
  };
}
