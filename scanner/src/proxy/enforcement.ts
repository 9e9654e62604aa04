import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { forEachString, MAX_JSON_DEPTH, mapStrings } from '../providers/json-walk.ts';
import type { ProviderParser } from '../providers/types.ts';
import type { ResponseMatch, ResponseMatcher, RuleClass } from '../rules/index.ts';
import { StreamGuard, streamFramingFor } from './stream-guard.ts';
import { forwardHeaders, type UpstreamResponse } from './upstream.ts';

/** How enforce-labelled traffic is treated when inspection cannot finish. */
export interface EnforcementSettings {
  /** per rule class: `closed` denies the call when a rule of the class cannot be decided, `open` lets it through, counted and alerted */
  failModes: Readonly<Record<RuleClass, 'open' | 'closed'>>;
  /** request (and buffered response) bodies larger than this are not inspected: 413 on enforce, passed through on observe */
  maxBodyBytes: number;
  /** rules not decided within this budget after inspection starts (body read) fail by their class's mode */
  evaluationBudgetUs: number;
}

export const DEFAULT_ENFORCEMENT: EnforcementSettings = Object.freeze({
  failModes: Object.freeze({ pii: 'closed', injection: 'closed', content: 'closed', attribute: 'closed' }),
  maxBodyBytes: 8 * 1024 * 1024,
  // RE2 and the automaton keep evaluation linear, so only a starved CPU reaches this; it
  // is far above the measured p99 (see README) so load alone does not block benign calls
  evaluationBudgetUs: 200_000,
});

/** What happened to a response that response rules inspected. */
export interface GuardResult {
  status: number;
  matches: ResponseMatch[];
  blocked: ResponseMatch | null;
  /** true when the body could not be inspected (encoding, size) and was passed through as is */
  uninspected: boolean;
  error: string | null;
  /**
   * A buffered JSON answer the client received (as relayed, or as redacted),
   * parsed once here so the caller does not parse it again; such a body is
   * not passed to `tap`. Absent for streams, refusals and non-JSON bodies.
   */
  json?: unknown;
}

export interface GuardOptions {
  matcher: ResponseMatcher;
  parser: ProviderParser;
  maxBodyBytes: number;
  /** the body of a blocked, non-streamed answer */
  blockedBody: (m: ResponseMatch) => { body: unknown; decisionId: string };
  /** every byte sent to the client, for the response parser that records the call (except a buffered JSON answer: `GuardResult.json`) */
  tap: (b: Buffer) => void;
}

/**
 * Relays a response through the response rules before the client sees it.
 * Streams (SSE, and Bedrock's AWS event-stream) go through a `StreamGuard`
 * (bounded hold-back); other bodies
 * are buffered up to `maxBodyBytes`, then every string in the JSON is
 * redacted, or the whole answer replaced by the provider-shaped refusal (403).
 * The client receives identity-encoded bytes; compressed upstream bodies are
 * decoded for inspection.
 */
export function guardResponse(upRes: UpstreamResponse, res: ServerResponse, opts: GuardOptions): Promise<GuardResult> {
  const status = upRes.statusCode ?? 502;
  const headers: OutgoingHttpHeaders = forwardHeaders(upRes.headers);
  delete headers['content-length'];
  const encoding = String(upRes.headers['content-encoding'] ?? '').trim().toLowerCase();
  const inflater: Transform | null = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'br' ? createBrotliDecompress()
    : encoding === 'deflate' ? createInflate() : null;
  if (!inflater && encoding !== '' && encoding !== 'identity') {
    // an encoding we cannot read: relayed as is, uninspected
    res.writeHead(status, upRes.statusMessage, forwardHeaders(upRes.headers));
    upRes.pipe(res);
    return new Promise((resolve) => upRes.on('close', () => resolve({ status, matches: [], blocked: null, uninspected: true, error: null })));
  }
  delete headers['content-encoding'];
  const source = inflater ? upRes.pipe(inflater) : upRes;
  const framing = streamFramingFor(opts.parser.provider, upRes.headers['content-type']);
  return new Promise<GuardResult>((resolve) => {
    let done = false;
    const finish = (r: GuardResult): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const send = (b: Buffer): void => {
      if (b.length === 0) return;
      opts.tap(b);
      res.write(b);
    };
    source.on('error', (err: Error) => {
      if (done) return;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"Higgs proxy could not decode the provider response","type":"higgs_proxy_error","code":"proxy_error"}}');
      else res.destroy();
      finish({ status, matches: [], blocked: null, uninspected: true, error: `upstream body: ${err.message}` });
    });
    upRes.on('close', () => {
      // after a cut the upstream is destroyed on purpose: the client's response has already ended
      if (!upRes.complete && !done) {
        res.destroy();
        finish({ status, matches: [], blocked: null, uninspected: false, error: 'upstream closed the response early' });
      }
    });

    if (framing) {
      const guard = new StreamGuard(opts.matcher, framing);
      res.writeHead(status, upRes.statusMessage, headers);
      const cut = (): void => {
        res.end();
        upRes.destroy();
        const error = guard.blocked ? `response blocked mid-stream by rule ${guard.blocked.ruleId}` : `response stream cut: ${guard.failed ?? ''}`;
        finish({ status, matches: guard.matches, blocked: guard.blocked, uninspected: guard.blocked === null, error });
      };
      source.on('data', (b: Buffer) => {
        if (done) return;
        send(guard.push(b));
        if (guard.cut) cut();
      });
      source.on('end', () => {
        if (done) return;
        send(guard.end());
        if (guard.cut) return cut();
        res.end();
        finish({ status, matches: guard.matches, blocked: null, uninspected: false, error: null });
      });
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    const reply = (code: number, h: OutgoingHttpHeaders, out: Buffer): void => {
      opts.tap(out);
      res.writeHead(code, h).end(out);
    };
    source.on('data', (b: Buffer) => {
      if (done) return;
      size += b.length;
      if (size <= opts.maxBodyBytes) {
        chunks.push(b);
        return;
      }
      // too large to hold: the client gets a provider-shaped 502 rather than a cut body, now, and the rest is not
      // read (nor inflated: a compressed answer can decode to a thousand times its size)
      chunks.length = 0;
      const out = Buffer.from(JSON.stringify({ error: { message: 'Higgs proxy: response over the inspection limit', type: 'higgs_proxy_error', code: 'response_too_large' } }));
      reply(502, { 'content-type': 'application/json', 'content-length': out.length }, out);
      finish({ status: 502, matches: [], blocked: null, uninspected: true, error: `response over the ${opts.maxBodyBytes}-byte limit${inflater ? ' (decoded)' : ''}` });
      upRes.destroy();
      inflater?.destroy();
    });
    source.on('end', () => {
      if (done) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        reply(status, { ...headers, 'content-length': body.length }, body); // not JSON: nothing the rules can read
        finish({ status, matches: [], blocked: null, uninspected: false, error: null });
        return;
      }
      // read without copying; the answer is rebuilt only when something is redacted (rare), not for every inspected answer
      const matches: ResponseMatch[] = [];
      const readable = forEachString(json, (text) => {
        for (const m of opts.matcher.find(text)) matches.push(m);
      });
      if (!readable) {
        // no provider nests this deep: what the rules cannot read whole is not relayed (they fail closed)
        const out = Buffer.from(JSON.stringify({ error: { message: 'Higgs proxy: response too deeply nested to inspect', type: 'higgs_proxy_error', code: 'response_uninspectable' } }));
        reply(502, { 'content-type': 'application/json', 'content-length': out.length }, out);
        finish({ status: 502, matches: [], blocked: null, uninspected: true, error: `response JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
        return;
      }
      const blocked = matches.find((m) => m.action === 'block') ?? null;
      if (blocked) {
        const { body: refusal, decisionId } = opts.blockedBody(blocked);
        const out = Buffer.from(JSON.stringify(refusal));
        reply(403, { 'content-type': 'application/json', 'content-length': out.length, 'x-higgs-decision': decisionId }, out);
        finish({ status: 403, matches, blocked, uninspected: false, error: `response blocked by rule ${blocked.ruleId}` });
        return;
      }
      const sent = matches.some((m) => m.action === 'redact')
        ? mapStrings(json, (text) => redactSpans(text, opts.matcher.find(text).filter((m) => m.action === 'redact')))
        : json;
      const out = sent === json ? body : Buffer.from(JSON.stringify(sent));
      headers['content-length'] = out.length;
      res.writeHead(status, headers).end(out);
      finish({ status, matches, blocked: null, uninspected: false, error: null, json: sent });
    });
  });
}

/** Replaces the matched spans (sorted by start) with `[REDACTED]`; overlapping spans merge. */
export function redactSpans(text: string, spans: ReadonlyArray<{ start: number; end: number }>): string {
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const s of spans) {
    if (s.end <= at) continue;
    if (s.start >= at) out += `${text.slice(at, s.start)}[REDACTED]`;
    at = Math.max(at, s.end);
  }
  return out + text.slice(at);
}

