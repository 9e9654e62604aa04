import { describe, expect, it } from 'vitest';
import { forwardHeaders } from './upstream.ts';

describe('forwardHeaders', () => {
  it('drops hop-by-hop headers and keeps the end-to-end ones, values untouched', () => {
    const out = forwardHeaders({
      host: 'api.openai.com', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'proxy-authorization': 'Basic eA==', 'transfer-encoding': 'chunked',
      'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], te: 'trailers', upgrade: 'h2c', 'x-empty': undefined,
    });
    expect(out).toEqual({ host: 'api.openai.com', 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('drops the headers a Connection header names (RFC 9110 §7.6.1), in any case and spacing', () => {
    const out = forwardHeaders({ connection: 'Keep-Alive, X-Hop , x-other', 'x-hop': '1', 'x-other': '2', 'x-kept': '3' });
    expect(out).toEqual({ 'x-kept': '3' });
  });
});
