import { describe, expect, it } from 'vitest';
import { attribute, baggageValue, parseTraceparent } from './index.ts';

const base = { srcIp: '10.0.0.7', providerUser: null, identityHeader: 'x-user-id' };
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('attribute', () => {
  it('prefers baggage user.id over the identity header and the provider field, percent-decoded', () => {
    const a = attribute({ ...base, providerUser: 'p', headers: { baggage: 'tenant=x, user.id=alice%40corp.example;prop=1', 'x-user-id': 'bob' } });
    expect(a).toMatchObject({ userId: 'alice@corp.example', userSource: 'baggage' });
  });

  it('falls back to the identity header, then the provider user field', () => {
    expect(attribute({ ...base, providerUser: 'p', headers: { 'x-user-id': 'bob' } })).toMatchObject({ userId: 'bob', userSource: 'header' });
    expect(attribute({ ...base, providerUser: 'p-7', headers: {} })).toMatchObject({ userId: 'p-7', userSource: 'provider_field' });
  });

  it('never takes the Authorization header as an identity', () => {
    const a = attribute({ ...base, identityHeader: 'authorization', headers: { authorization: 'Bearer sk-live-secret' } });
    expect(a.userId).toBeNull();
  });

  it('derives the session from the trace when traced, else from source and user', () => {
    const traced = attribute({ ...base, headers: { traceparent: TP } });
    expect(traced).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sessionId: 't-4bf92f3577b34da6a3ce929d0e0e4736' });
    const a1 = attribute({ ...base, headers: { 'x-user-id': 'bob' } });
    const a2 = attribute({ ...base, headers: { 'x-user-id': 'bob' } });
    const a3 = attribute({ ...base, headers: { 'x-user-id': 'carol' } });
    expect(a1.sessionId).toMatch(/^s-[0-9a-f]{16}$/);
    expect(a1.sessionId).toBe(a2.sessionId);
    expect(a1.sessionId).not.toBe(a3.sessionId);
  });
});

describe('parseTraceparent', () => {
  it('rejects invalid trace contexts', () => {
    expect(parseTraceparent(TP)).not.toBeNull();
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeNull();
    expect(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
  });
});

describe('baggageValue', () => {
  it('returns null for a missing key or a malformed escape', () => {
    expect(baggageValue('a=1', 'user.id')).toBeNull();
    expect(baggageValue('user.id=%E0%A4%A', 'user.id')).toBeNull();
  });
});
