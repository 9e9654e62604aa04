/**
 * Who a call is on behalf of, across service hops.
 *
 * A call is attributed from what its own request carries (W3C `baggage`
 * `user.id`, the configured identity header — a plain value or a JWT — then the
 * provider's user field). When it carries no user but a W3C `traceparent`, the
 * user of its trace is used (userSource 'trace'): the scanner remembers the user
 * of every trace it sees a user on, including plain-HTTP service-to-service
 * hops it proxies that never reach an AI host (service A calling service B with
 * the end user's bearer JWT). The tenant does the same across scanners
 * (tenant-api `attributeByTrace`), so the proxy seeing A's hop is not required
 * when any hop of the trace that reaches a scanner carries the user.
 *
 * JWTs: claims are read from `email`, else `sub`. A token whose `alg` is `none`,
 * that is expired or not yet valid, or — when verification keys are configured —
 * whose signature does not verify, is not an identity. Without keys the claims
 * are decoded unverified and recorded with userSource 'jwt', which names where
 * the user came from; configure keys to make it a verified identity.
 */
import { constants, createHash, createHmac, createPublicKey, createSecretKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Attribution } from '@higgs/schema';
import { baggageValue, parseTraceparent } from '../sessions/index.ts';

export { baggageValue, parseTraceparent };

const MAX_USER = 256;
const MAX_TOKEN = 8192;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** JOSE alg → node:crypto digest and key family. */
const ALGS: Record<string, { digest: string | null; kind: 'hmac' | 'rsa' | 'rsa-pss' | 'ec' | 'ed' }> = {
  HS256: { digest: 'sha256', kind: 'hmac' }, HS384: { digest: 'sha384', kind: 'hmac' }, HS512: { digest: 'sha512', kind: 'hmac' },
  RS256: { digest: 'sha256', kind: 'rsa' }, RS384: { digest: 'sha384', kind: 'rsa' }, RS512: { digest: 'sha512', kind: 'rsa' },
  PS256: { digest: 'sha256', kind: 'rsa-pss' }, PS384: { digest: 'sha384', kind: 'rsa-pss' }, PS512: { digest: 'sha512', kind: 'rsa-pss' },
  ES256: { digest: 'sha256', kind: 'ec' }, ES384: { digest: 'sha384', kind: 'ec' }, ES512: { digest: 'sha512', kind: 'ec' },
  EdDSA: { digest: null, kind: 'ed' },
};

type UserSource = NonNullable<Attribution['userSource']>;

export interface AttributorOptions {
  /** lower-case name of the header that carries the end user (a plain id or a JWT) */
  identityHeader: string;
  /**
   * Keys JWT signatures are verified with: PEM public keys (RSA, EC, Ed25519) or
   * HMAC secrets. Empty: claims are decoded without verification.
   */
  jwtKeys?: readonly string[];
  /** how long the user of a trace is remembered after it was last seen; default 10 minutes */
  traceTtlMs?: number;
  /** most traces remembered at once (oldest forgotten first); default 50 000 */
  maxTraces?: number;
  now?: () => number;
}

export interface AttributionInput {
  headers: IncomingHttpHeaders;
  srcIp: string;
  /** the provider's end-user field from the parsed body */
  providerUser: string | null;
}

export interface Attributor {
  /** The attribution of a call to an AI provider or MCP server (its Authorization header is a credential, never an identity). */
  attribute(input: AttributionInput): Attribution;
  /**
   * A proxied request between services (not to an AI host): if it carries a
   * trace and a user — baggage, the identity header, or the end user's
   * `Authorization: Bearer <JWT>` — the trace's user is remembered. Returns it.
   */
  observeHop(headers: IncomingHttpHeaders): { traceId: string; userId: string; userSource: UserSource } | null;
  /** traces currently remembered */
  readonly size: number;
}

export function createAttributor(opts: AttributorOptions): Attributor {
  const keys = (opts.jwtKeys ?? []).map(toKey);
  const ttlMs = opts.traceTtlMs ?? 600_000;
  const maxTraces = opts.maxTraces ?? 50_000;
  const now = opts.now ?? Date.now;
  // insertion order = recency: a hit is re-inserted, the first entry is the oldest
  const traces = new Map<string, { userId: string; userSource: UserSource; expiresAt: number }>();

  function remember(traceId: string, userId: string, userSource: UserSource): void {
    traces.delete(traceId);
    traces.set(traceId, { userId, userSource, expiresAt: now() + ttlMs });
    while (traces.size > maxTraces) traces.delete(traces.keys().next().value!);
  }

  function traceUser(traceId: string): { userId: string; userSource: UserSource } | null {
    const t = traces.get(traceId);
    if (!t) return null;
    if (t.expiresAt <= now()) {
      traces.delete(traceId);
      return null;
    }
    return t;
  }

  function ownUser(headers: IncomingHttpHeaders, authorizationIsIdentity: boolean): { userId: string; userSource: UserSource } | null {
    const fromBaggage = baggageValue(header(headers, 'baggage'), 'user.id');
    if (fromBaggage) return { userId: fromBaggage, userSource: 'baggage' };
    if (opts.identityHeader !== 'authorization') {
      const value = header(headers, opts.identityHeader)?.trim();
      if (value) {
        const bearer = value.replace(/^Bearer\s+/i, '');
        if (JWT.test(bearer)) {
          const claim = jwtUser(bearer, keys, now());
          if (claim) return { userId: claim, userSource: 'jwt' };
        } else {
          return { userId: value, userSource: 'header' };
        }
      }
    }
    if (authorizationIsIdentity) {
      const auth = header(headers, 'authorization');
      const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth.trim()) : null;
      const claim = m && JWT.test(m[1]!) ? jwtUser(m[1]!, keys, now()) : null;
      if (claim) return { userId: claim, userSource: 'jwt' };
    }
    return null;
  }

  return {
    attribute(input) {
      const trace = parseTraceparent(header(input.headers, 'traceparent'));
      let user = ownUser(input.headers, false);
      if (!user && input.providerUser) user = { userId: input.providerUser, userSource: 'provider_field' };
      if (user && trace) remember(trace.traceId, user.userId.slice(0, MAX_USER), user.userSource);
      if (!user && trace) {
        const inherited = traceUser(trace.traceId);
        if (inherited) user = { userId: inherited.userId, userSource: 'trace' };
      }
      const userId = user ? user.userId.slice(0, MAX_USER) : null;
      const sessionId = trace
        ? `t-${trace.traceId}`
        : `s-${createHash('sha256').update(`${input.srcIp}|${userId ?? ''}`).digest('hex').slice(0, 16)}`;
      return {
        userId, userSource: user ? user.userSource : null, traceId: trace?.traceId ?? null, parentSpanId: trace?.parentSpanId ?? null, sessionId,
      };
    },
    observeHop(headers) {
      const trace = parseTraceparent(header(headers, 'traceparent'));
      if (!trace) return null;
      const user = ownUser(headers, true);
      if (!user) return null;
      const userId = user.userId.slice(0, MAX_USER);
      remember(trace.traceId, userId, user.userSource);
      return { traceId: trace.traceId, userId, userSource: user.userSource };
    },
    get size() {
      return traces.size;
    },
  };
}

/**
 * The user a JWT names (`email`, else `sub`), or null when it is not an
 * acceptable identity: malformed, `alg: none`, outside its validity window, or —
 * with `keys` — not signed by one of them.
 */
export function jwtUser(token: string, keys: readonly KeyObject[], nowMs: number): string | null {
  if (token.length > MAX_TOKEN) return null;
  const [h, p, s] = token.split('.') as [string, string, string];
  const head = decodeJson(h);
  const claims = decodeJson(p);
  if (!head || !claims || typeof head.alg !== 'string') return null;
  const alg = ALGS[head.alg];
  if (!alg) return null; // `none` and unknown algorithms are never an identity
  const nowS = nowMs / 1000;
  if (typeof claims.exp === 'number' && claims.exp <= nowS) return null;
  if (typeof claims.nbf === 'number' && claims.nbf > nowS + 60) return null; // a minute of clock skew
  if (keys.length > 0 && !keys.some((k) => verifies(alg, k, `${h}.${p}`, s))) return null;
  const user = typeof claims.email === 'string' && claims.email !== '' ? claims.email
    : typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : null;
  return user === null ? null : user.slice(0, MAX_USER);
}

function verifies(alg: { digest: string | null; kind: string }, key: KeyObject, signingInput: string, signature: string): boolean {
  const sig = Buffer.from(signature, 'base64url');
  const data = Buffer.from(signingInput);
  try {
    if (alg.kind === 'hmac') {
      if (key.type !== 'secret') return false;
      const expected = createHmac(alg.digest!, key).update(data).digest();
      return expected.length === sig.length && expected.equals(sig);
    }
    if (key.type !== 'public') return false;
    if (alg.kind === 'rsa-pss') return verifySignature(alg.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: -1 }, sig);
    if (alg.kind === 'ec') return verifySignature(alg.digest, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    return verifySignature(alg.digest, data, key, sig);
  } catch {
    return false; // a key of the wrong type for this alg
  }
}

function toKey(material: string): KeyObject {
  return material.includes('-----BEGIN') ? createPublicKey(material) : createSecretKey(Buffer.from(material, 'utf8'));
}

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  if (Array.isArray(v)) return v.join(',');
  return v === undefined || v === '' ? null : v;
}
