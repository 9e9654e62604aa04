import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Attribution } from '@higgs/schema';

export interface AttributionInput {
  headers: IncomingHttpHeaders;
  srcIp: string;
  /** the provider's end-user field from the parsed body */
  providerUser: string | null;
  /** lower-case name of the configured identity header */
  identityHeader: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const MAX_USER = 256;

/**
 * Attributes a call to a user and a session. User, first found wins: W3C
 * `baggage` `user.id`, the configured identity header, the provider's user
 * field. The trace comes from a valid W3C `traceparent`; the session is
 * `t-<traceId>` when traced, else `s-` + 16 hex of sha256(srcIp|user). The
 * provider `Authorization` header is a credential, never an identity.
 */
export function attribute(input: AttributionInput): Attribution {
  let userId: string | null = null;
  let userSource: Attribution['userSource'] = null;
  const fromBaggage = baggageValue(header(input.headers, 'baggage'), 'user.id');
  const fromHeader = input.identityHeader === 'authorization' ? null : header(input.headers, input.identityHeader);
  if (fromBaggage) [userId, userSource] = [fromBaggage, 'baggage'];
  else if (fromHeader) [userId, userSource] = [fromHeader.trim(), 'header'];
  else if (input.providerUser) [userId, userSource] = [input.providerUser, 'provider_field'];
  if (userId !== null) userId = userId.slice(0, MAX_USER);

  const trace = parseTraceparent(header(input.headers, 'traceparent'));
  const sessionId = trace
    ? `t-${trace.traceId}`
    : `s-${createHash('sha256').update(`${input.srcIp}|${userId ?? ''}`).digest('hex').slice(0, 16)}`;
  return { userId, userSource, traceId: trace?.traceId ?? null, parentSpanId: trace?.parentSpanId ?? null, sessionId };
}

/** A W3C trace context `traceparent`, or null when absent or invalid (version ff, all-zero ids). */
export function parseTraceparent(value: string | null): { traceId: string; parentSpanId: string } | null {
  const m = value === null ? null : TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, parentSpanId] = m as unknown as [string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return null;
  if (version === '00' && m[0].length !== 55) return null; // version 00 allows no trailing fields
  return { traceId, parentSpanId };
}

/** One key of a W3C `baggage` header, percent-decoded; properties after `;` are ignored. */
export function baggageValue(value: string | null, key: string): string | null {
  if (!value) return null;
  for (const member of value.split(',')) {
    const [pair] = member.split(';');
    const eq = pair!.indexOf('=');
    if (eq === -1 || pair!.slice(0, eq).trim() !== key) continue;
    const raw = pair!.slice(eq + 1).trim();
    try {
      const decoded = decodeURIComponent(raw);
      return decoded === '' ? null : decoded;
    } catch {
      return null;
    }
  }
  return null;
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  if (Array.isArray(v)) return v.join(',');
  return v === undefined || v === '' ? null : v;
}
