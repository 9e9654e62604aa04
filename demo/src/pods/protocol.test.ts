import { describe, expect, it } from 'vitest';
import { NextHop, parseLine, PodMessage, PodSpec } from './protocol.ts';

const outcome = {
  namespace: 'sandbox', app: 'experiment', provider: 'openai', model: 'gpt-4o', promptId: 'experiment/haiku', userId: 'grace',
  traceId: 'a'.repeat(32), stream: false, at: '2026-01-01T00:00:00.000Z', durationMs: 12,
};

describe('pod protocol', () => {
  it('reads each outcome kind a pod reports, as the in-process outcome', () => {
    const ok = { ...outcome, kind: 'ok', text: 'hi', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 1 }, requestId: null };
    const error = { ...outcome, kind: 'error', status: null, message: 'Connection error. (EPERM)' };
    const blocked = { ...outcome, kind: 'blocked', status: 403, message: 'Blocked by Higgs', requestId: 'req_1' };
    for (const o of [ok, error, blocked]) expect(parseLine(PodMessage, JSON.stringify({ type: 'outcome', outcome: o }))).toEqual({ type: 'outcome', outcome: o });
    expect(parseLine(PodMessage, '{"type":"listening","port":4100}')).toEqual({ type: 'listening', port: 4100 });
  });

  it('turns anything else into null instead of throwing: bad JSON, unknown types, missing or wrong fields', () => {
    for (const line of ['', 'not json', '{"type":"outcome"}', '{"type":"listening","port":0}', '{"type":"listening","port":"80"}', '{"type":"exit"}', 'null',
      JSON.stringify({ type: 'outcome', outcome: { ...outcome, kind: 'ok' } }), JSON.stringify({ type: 'outcome', outcome: { ...outcome, kind: 'error', status: null } })]) {
      expect(parseLine(PodMessage, line), line).toBeNull();
    }
    expect(parseLine(NextHop, '{"type":"next","port":70000}')).toBeNull();
    expect(parseLine(NextHop, '{"type":"next","port":7000}')).toEqual({ type: 'next', port: 7000 });
  });

  it('refuses a spec with a short JWT secret or an unknown hop', () => {
    const spec = {
      workload: { namespace: 'web', app: 'frontdoor', ip: '127.0.2.1', labels: {}, provider: 'openai', model: 'gpt-4o-mini' },
      proxyUrl: 'http://127.0.0.1:7080', caCertPem: 'pem', calls: null, hop: { role: 'frontdoor', jwtSecret: 'x'.repeat(43) },
    };
    expect(PodSpec.safeParse(spec).success).toBe(true);
    expect(PodSpec.safeParse({ ...spec, hop: { role: 'frontdoor', jwtSecret: 'short' } }).success).toBe(false);
    expect(PodSpec.safeParse({ ...spec, hop: { role: 'gateway', jwtSecret: 'x'.repeat(43) } }).success).toBe(false);
  });
});
