import { ToolContracts } from '@higgs/schema';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRemoteRegistry } from './remote-registry.ts';
import { createRegistry } from './registry.ts';
import { makePrincipal } from './test-fixtures.ts';
import { startTestTenant, type TestTenant } from './test-tenant.ts';

let tenant: TestTenant;
beforeEach(async () => {
  tenant = await startTestTenant();
});
afterEach(async () => {
  await tenant.close();
});

const anyone = makePrincipal('local', 'viewer');
const quiet = { error: vi.fn() };

describe('the remote registry', () => {
  it('serves the same names, schemas and annotations as the local registry', () => {
    const remote = createRemoteRegistry({ baseUrl: tenant.url, token: 'tok-viewer' });
    const local = createRegistry(tenant.services);
    expect(remote.list().map((d) => [d.name, d.input, d.output, d.annotations, d.role]))
      .toEqual(local.list().map((d) => [d.name, d.input, d.output, d.annotations, d.role]));
  });

  it('forwards a call with the bearer token and returns the tenant\'s output', async () => {
    const remote = createRemoteRegistry({ baseUrl: `${tenant.url}/`, token: 'tok-security', logger: quiet });
    const result = await remote.call('add_inline_rule', { name: 'no ssn', action: 'block', match: { piiTypes: ['ssn'] } }, anyone);
    expect(result.ok).toBe(true);
    const { rule } = ToolContracts.add_inline_rule.output.parse(result.ok ? result.output : null);
    expect(rule.createdBy).toBe(tenant.tokens.get('tok-security')!.id);
    expect(tenant.requests).toEqual([{
      path: '/api/tools/add_inline_rule', authorization: 'Bearer tok-security',
      body: { name: 'no ssn', action: 'block', match: { piiTypes: ['ssn'] }, reason: '' },
    }]);
  });

  it('maps the tenant\'s {error:{code,message}} back to the result', async () => {
    const remote = createRemoteRegistry({ baseUrl: tenant.url, token: 'tok-viewer', logger: quiet });
    const result = await remote.call('quarantine_namespace', { namespace: 'ml', reason: 'r' }, anyone);
    expect(result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringContaining('security') } });
    expect(await remote.call('get_finding', { id: 'missing' }, anyone)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('maps a code outside the catalogue by HTTP status', async () => {
    const remote = createRemoteRegistry({ baseUrl: tenant.url, token: 'wrong', logger: quiet });
    expect(await remote.call('list_rules', {}, anyone)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: 'bad token' } });
  });

  it('rejects bad input and unknown tools locally, without a request', async () => {
    const remote = createRemoteRegistry({ baseUrl: tenant.url, token: 'tok-viewer', logger: quiet });
    expect(await remote.call('list_findings', { limit: 0 }, anyone)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(await remote.call('nope', {}, anyone)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' } });
    expect(tenant.requests).toHaveLength(0);
  });

  it('answers INTERNAL, without the token, when the tenant is unreachable', async () => {
    const url = tenant.url;
    await tenant.close();
    const logger = { error: vi.fn() };
    const remote = createRemoteRegistry({ baseUrl: url, token: 'tok-secret-value', logger });
    const result = await remote.call('list_rules', {}, anyone);
    expect(result).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(JSON.stringify(result)).not.toContain('tok-secret-value');
    expect(logger.error).toHaveBeenCalledOnce();
    tenant = await startTestTenant(); // for afterEach
  });

  it('answers INTERNAL when the tenant answers outside the contract', async () => {
    const logger = { error: vi.fn() };
    const fakeFetch = vi.fn(async () => new Response(JSON.stringify({ rules: 'nope' }), { status: 200 }));
    const remote = createRemoteRegistry({ baseUrl: tenant.url, token: 't', fetch: fakeFetch, logger });
    expect(await remote.call('list_rules', {}, anyone)).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(logger.error).toHaveBeenCalledOnce();
  });
});
