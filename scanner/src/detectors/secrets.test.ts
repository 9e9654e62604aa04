import { describe, expect, it } from 'vitest';
import { detectSecrets } from './secrets.ts';

const kinds = (text: string) => detectSecrets(text).map((s) => [s.kind, text.slice(s.start, s.end)]);
const jwt = (header: object, payload: object) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2lnbmF0dXJlX2J5dGVz`;

describe('detectSecrets', () => {
  it('finds provider keys by format and names their family', () => {
    expect(kinds('export OPENAI_API_KEY=sk-proj-Q7fX2mLr9TzV4bWc8NhK1sYd6PjE3uGa0oIiRnF5tHxZ')).toEqual([
      ['openai_api_key', 'sk-proj-Q7fX2mLr9TzV4bWc8NhK1sYd6PjE3uGa0oIiRnF5tHxZ'],
    ]);
    expect(kinds('id AKIAZ3MSJV4WPX2L6QYB in config')).toEqual([['aws_access_key', 'AKIAZ3MSJV4WPX2L6QYB']]);
    expect(kinds('token ghp_8fK2mQ9xLr4TzV7bWc1NhK3sYd6PjE0uGa5o')).toEqual([['github_token', 'ghp_8fK2mQ9xLr4TzV7bWc1NhK3sYd6PjE0uGa5o']]);
    expect(kinds('STRIPE=sk_live_51H8xQ2Lr9TzV4bWc8NhK1sYd')[0]?.[0]).toBe('stripe_key');
  });

  it('ignores documentation placeholders and AWS example keys', () => {
    expect(kinds('aws_access_key: AKIAIOSFODNN7EXAMPLE')).toEqual([]);
    expect(kinds('key = AKIAXXXXXXXXXXXXXXXX')).toEqual([]);
    expect(kinds('api_key = "your-api-key-here"')).toEqual([]);
  });

  it('accepts a JWT only when its header and payload decode to JSON', () => {
    const token = jwt({ alg: 'HS256', typ: 'JWT' }, { sub: '42', name: 'x' });
    expect(kinds(`Authorization: Bearer ${token}`)).toEqual([['jwt', token]]);
    expect(kinds('eyJhbGciOiJub3QganNvbg.eyJzdWIiOiJ4In0.sig')).toEqual([]);
  });

  it('finds high-entropy values assigned to credential names, not ids or UUIDs', () => {
    expect(kinds('"client_secret" : "6da89121079f83b2eb6acccf8219ea982c3d79bccc3e9c6a85856480661f8fde",')[0]?.[0]).toBe('generic_secret');
    expect(kinds('credentialsId: "29f63271-dc2f-4734-8221-5b31b5169bac"')).toEqual([]);
    expect(kinds('publicToken = "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit"')).toEqual([]);
  });

  it('finds PEM private key blocks', () => {
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIEowIBAAKCAQEA7'.repeat(5)}\n-----END RSA PRIVATE KEY-----`;
    expect(kinds(`key:\n${pem}\n`)).toEqual([['private_key', pem]]);
  });
});
