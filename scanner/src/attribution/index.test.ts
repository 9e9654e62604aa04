import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAttributor, jwtUser } from './index.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const tp = (trace = TRACE) => `00-${trace}-00f067aa0ba902b7-01`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const NOW = Date.parse('2026-11-20T10:00:00.000Z');

function hs256(claims: Record<string, unknown>, secret = 'test-secret', alg = 'HS256'): string {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('jwtUser', () => {
  it('reads email, else sub; refuses alg none, expired and not-yet-valid tokens', () => {
    expect(jwtUser(hs256({ sub: 'u-1', email: 'dana@example.com' }), [], NOW)).toBe('dana@example.com');
    expect(jwtUser(hs256({ sub: 'u-1' }), [], NOW)).toBe('u-1');
    expect(jwtUser(`${b64({ alg: 'none' })}.${b64({ sub: 'mallory' })}.`, [], NOW)).toBeNull();
    expect(jwtUser(hs256({ sub: 'u-1', exp: NOW / 1000 - 1 }), [], NOW)).toBeNull();
    expect(jwtUser(hs256({ sub: 'u-1', nbf: NOW / 1000 + 3600 }), [], NOW)).toBeNull();
    expect(jwtUser('not.a.jwt', [], NOW)).toBeNull();
  });

  it('with keys, accepts only tokens signed by one of them (HMAC and RSA)', async () => {
    const { createSecretKey, createPublicKey } = await import('node:crypto');
    const secret = createSecretKey(Buffer.from('test-secret'));
    expect(jwtUser(hs256({ sub: 'u-1' }), [secret], NOW)).toBe('u-1');
    expect(jwtUser(hs256({ sub: 'u-1' }, 'forged'), [secret], NOW)).toBeNull();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const input = `${b64({ alg: 'RS256' })}.${b64({ email: 'erin@example.com' })}`;
    const rs = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    expect(jwtUser(rs, [createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }))], NOW)).toBe('erin@example.com');
    // an HS256 token "signed" with the public key's PEM text is the classic alg confusion: refused
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(jwtUser(hs256({ sub: 'mallory' }, pem), [createPublicKey(pem)], NOW)).toBeNull();
  });
});

describe('attributor', () => {
  const make = (extra: Partial<Parameters<typeof createAttributor>[0]> = {}) =>
    createAttributor({ identityHeader: 'x-user-id', now: () => NOW, ...extra });

  it('keeps the attribution of the call\'s own headers: baggage, identity header, provider field', () => {
    const a = make();
    expect(a.attribute({ srcIp: '10.0.0.7', providerUser: 'p', headers: { baggage: 'user.id=alice%40corp.example', 'x-user-id': 'bob' } }))
      .toMatchObject({ userId: 'alice@corp.example', userSource: 'baggage' });
    expect(a.attribute({ srcIp: '10.0.0.7', providerUser: 'p', headers: { 'x-user-id': 'bob' } })).toMatchObject({ userId: 'bob', userSource: 'header' });
    expect(a.attribute({ srcIp: '10.0.0.7', providerUser: 'p-7', headers: {} })).toMatchObject({ userId: 'p-7', userSource: 'provider_field' });
  });

  it('decodes a JWT in the identity header; never takes a provider Authorization header as an identity', () => {
    const a = make();
    expect(a.attribute({ srcIp: '10.0.0.7', providerUser: null, headers: { 'x-user-id': `Bearer ${hs256({ sub: 'u-9' })}` } }))
      .toMatchObject({ userId: 'u-9', userSource: 'jwt' });
    expect(a.attribute({ srcIp: '10.0.0.7', providerUser: null, headers: { authorization: `Bearer ${hs256({ sub: 'svc-principal' })}` } }).userId)
      .toBeNull();
  });

  it('attributes a later hop of a trace to the user a proxied service-to-service hop carried', () => {
    const a = make();
    expect(a.observeHop({ traceparent: tp(), authorization: `Bearer ${hs256({ email: 'dana@example.com' })}` }))
      .toEqual({ traceId: TRACE, userId: 'dana@example.com', userSource: 'jwt' });
    const call = a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp() } });
    expect(call).toEqual({ userId: 'dana@example.com', userSource: 'trace', traceId: TRACE, parentSpanId: '00f067aa0ba902b7', sessionId: `t-${TRACE}` });
    // another trace learns nothing; a call with its own user keeps it
    expect(a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp('1'.repeat(32)) } }).userId).toBeNull();
    expect(a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp(), 'x-user-id': 'bob' } }))
      .toMatchObject({ userId: 'bob', userSource: 'header' });
  });

  it('ignores hops without a trace or without an acceptable user, and forgets traces after the TTL and beyond the bound', () => {
    let now = NOW;
    const a = make({ now: () => now, traceTtlMs: 1000, maxTraces: 2 });
    expect(a.observeHop({ authorization: `Bearer ${hs256({ sub: 'x' })}` })).toBeNull();
    expect(a.observeHop({ traceparent: tp(), authorization: `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'mallory' })}.` })).toBeNull();
    a.observeHop({ traceparent: tp(), 'x-user-id': 'dana' });
    now += 1001;
    expect(a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp() } }).userId).toBeNull();
    for (const t of ['a', 'b', 'c']) a.observeHop({ traceparent: tp(t.repeat(32)), 'x-user-id': t });
    expect(a.size).toBe(2);
    expect(a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp('a'.repeat(32)) } }).userId).toBeNull();
    expect(a.attribute({ srcIp: '10.0.0.9', providerUser: null, headers: { traceparent: tp('c'.repeat(32)) } }).userId).toBe('c');
  });

  it('with verification keys, a forged token on a hop is not an identity', () => {
    const a = make({ jwtKeys: ['test-secret'] });
    expect(a.observeHop({ traceparent: tp(), authorization: `Bearer ${hs256({ sub: 'mallory' }, 'guess')}` })).toBeNull();
    expect(a.observeHop({ traceparent: tp(), authorization: `Bearer ${hs256({ sub: 'dana' })}` })).toMatchObject({ userId: 'dana' });
  });
});
