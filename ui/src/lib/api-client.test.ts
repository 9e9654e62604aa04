import { describe, expect, it, vi } from 'vitest';
import { createApiClient } from './api-client.ts';
import { ApiError } from './errors.ts';

const RULE = {
  id: 'rule-1',
  name: 'Block PII egress: ssn',
  action: 'block',
  match: { piiTypes: ['ssn'] },
  enabled: true,
  createdBy: 'alice',
  createdAt: '2025-01-01T00:00:00.000Z',
  sourceFindingId: 'f-1',
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function clientAnswering(answer: () => Response | Promise<Response>, onUnauthorized?: (e: ApiError) => void) {
  const fetch = vi.fn<typeof globalThis.fetch>(async () => answer());
  return { fetch, api: createApiClient({ token: 'tok-123', baseUrl: 'http://tenant.test/', fetch, onUnauthorized }) };
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('callTool', () => {
  it('POSTs the arguments to /api/tools/:name with the bearer token and returns the parsed output', async () => {
    const { api, fetch } = clientAnswering(() => json(200, { rule: RULE }));
    const out = await api.callTool('block_from_finding', { findingId: 'f-1' });
    expect(out.rule.id).toBe('rule-1');
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe('http://tenant.test/api/tools/block_from_finding');
    expect(init?.method).toBe('POST');
    expect(new Headers(init?.headers).get('authorization')).toBe('Bearer tok-123');
    expect(JSON.parse(String(init?.body))).toEqual({ findingId: 'f-1' });
  });

  it("turns the tenant's error body into an ApiError with its code, message and status", async () => {
    const { api } = clientAnswering(() => json(409, { error: { code: 'APPROVAL_MISMATCH', message: 'arguments changed since shown' } }));
    const err = await rejection(api.callTool('approve_action', { proposalId: 'p-1', argsHash: 'h' }));
    expect(err.code).toBe('APPROVAL_MISMATCH');
    expect(err.message).toBe('arguments changed since shown');
    expect(err.status).toBe(409);
  });

  it('reports an error status without the error body as HTTP_ERROR', async () => {
    const { api } = clientAnswering(() => new Response('<html>Bad Gateway</html>', { status: 502 }));
    const err = await rejection(api.callTool('list_rules', {}));
    expect(err.code).toBe('HTTP_ERROR');
    expect(err.status).toBe(502);
  });

  it("rejects a 200 whose body does not match the tool's output contract (BAD_RESPONSE)", async () => {
    const { api } = clientAnswering(() => json(200, { rules: [{ ...RULE, action: 'explode' }] }));
    const err = await rejection(api.callTool('list_rules', {}));
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.cause).toBeDefined();
  });

  it('rejects a 200 that is not JSON (BAD_RESPONSE)', async () => {
    const { api } = clientAnswering(() => new Response('OK', { status: 200 }));
    expect((await rejection(api.callTool('list_rules', {}))).code).toBe('BAD_RESPONSE');
  });

  it('reports a failed connection as NETWORK with no status', async () => {
    const { api } = clientAnswering(() => {
      throw new TypeError('fetch failed');
    });
    const err = await rejection(api.callTool('list_rules', {}));
    expect(err.code).toBe('NETWORK');
    expect(err.status).toBeNull();
  });

  it('reports a cancelled request as ABORTED', async () => {
    const { api } = clientAnswering(() => {
      throw new DOMException('The operation was aborted.', 'AbortError');
    });
    expect((await rejection(api.callTool('list_rules', {}))).code).toBe('ABORTED');
  });

  it('calls onUnauthorized on a 401 so the page can ask for a new token', async () => {
    const onUnauthorized = vi.fn();
    const { api } = clientAnswering(() => json(401, { error: { code: 'UNAUTHORIZED', message: 'unknown token' } }), onUnauthorized);
    const err = await rejection(api.callTool('briefing_summary', {}));
    expect(err.isUnauthorized).toBe(true);
    expect(onUnauthorized).toHaveBeenCalledOnce();
    expect(onUnauthorized.mock.calls[0]?.[0]).toBe(err);
  });

  it('does not call onUnauthorized for a 403 (the token is valid, the role is not enough)', async () => {
    const onUnauthorized = vi.fn();
    const { api } = clientAnswering(() => json(403, { error: { code: 'FORBIDDEN', message: 'needs security' } }), onUnauthorized);
    expect((await rejection(api.callTool('quarantine_namespace', { namespace: 'x', reason: 'y' }))).code).toBe('FORBIDDEN');
    expect(onUnauthorized).not.toHaveBeenCalled();
  });
});

describe('me', () => {
  it('GETs /api/me and returns the principal', async () => {
    const principal = { id: 'u-1', tenantId: 't-1', name: 'admin', kind: 'human', role: 'admin' };
    const { api, fetch } = clientAnswering(() => json(200, { principal }));
    expect(await api.me()).toEqual({ principal });
    expect(fetch.mock.calls[0]?.[1]?.method).toBe('GET');
  });

  it('accepts the bare Principal the tenant route answers with today', async () => {
    const principal = { id: 'u-1', tenantId: 't-1', name: 'admin', kind: 'human', role: 'admin' };
    const { api } = clientAnswering(() => json(200, principal));
    expect(await api.me()).toEqual({ principal });
  });

  it('rejects a body that is neither shape (BAD_RESPONSE)', async () => {
    const { api } = clientAnswering(() => json(200, { user: 'admin' }));
    expect((await rejection(api.me())).code).toBe('BAD_RESPONSE');
  });
});

describe('chat', () => {
  it('streams the NDJSON answer as typed events', async () => {
    const lines = [{ type: 'start', conversationId: 'c-1' }, { type: 'text', delta: 'Hi' }, { type: 'done' }];
    const { api, fetch } = clientAnswering(() => new Response(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
    const events = [];
    for await (const event of api.chat({ message: 'why?', context: { findingId: 'f-1' } })) events.push(event);
    expect(events).toEqual(lines);
    expect(fetch.mock.calls[0]?.[0]).toBe('http://tenant.test/api/agent/chat');
    expect(JSON.parse(String(fetch.mock.calls[0]?.[1]?.body))).toEqual({ message: 'why?', context: { findingId: 'f-1' } });
  });

  it("surfaces the tenant's error body before any event", async () => {
    const { api } = clientAnswering(() => json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }));
    const err = await rejection(api.chat({ message: 'hi' }).next());
    expect(err.code).toBe('RATE_LIMITED');
  });
});
