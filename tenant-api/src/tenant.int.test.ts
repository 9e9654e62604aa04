import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createTenant, type Tenant } from './tenant.ts';
import { batchOf, llmCall } from './testing/fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Parameters<typeof createTenant>[0]): Promise<Tenant> {
  const tenant = await createTenant({ port: 0, uiDir: '/nonexistent-higgs-ui', ...options });
  cleanups.push(() => tenant.close());
  return tenant;
}

describe('createTenant', () => {
  it('listens, ingests and serves the tools over MCP', async () => {
    const tenant = await start({ dataDir: 'memory://', baseline: { namespaces: ['payments'], providers: ['openai'] } });
    expect(tenant.adminToken).toMatch(/^hgs_/);
    expect(tenant.scannerToken).toMatch(/^hgs_/);
    expect(await (await fetch(`${tenant.url}/healthz`)).json()).toEqual({ ok: true });

    const ingest = await fetch(`${tenant.url}/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.scannerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(batchOf(llmCall({ detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] }))),
    });
    expect(await ingest.json()).toEqual({ accepted: 1, duplicates: 0 });

    const client = new Client({ name: 'tenant-int-test', version: '0.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${tenant.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${tenant.adminToken}` } },
    });
    await client.connect(transport);
    cleanups.push(() => client.close());
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('list_findings');
    const result = await client.callTool({ name: 'list_findings', arguments: {} });
    expect(result.isError).toBeFalsy();
    const findings = (result.structuredContent as { findings: { detector: string }[] }).findings;
    expect(findings.map((f) => f.detector)).toEqual(['pii.ssn']);
  });

  it('keeps its tenant, tokens and data across restarts of a data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'higgs-tenant-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await createTenant({ port: 0, dataDir: dir, uiDir: '/nonexistent-higgs-ui' });
    const { adminToken } = first;
    expect(adminToken).not.toBeNull();
    await first.close();

    const second = await start({ dataDir: dir });
    // generated tokens are shown once; only their hashes were kept
    expect(second.adminToken).toBeNull();
    expect(second.scannerToken).toBeNull();
    const me = await fetch(`${second.url}/api/me`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: 'admin', tenantId: 'default', role: 'admin' });
  });
});
