import { fileURLToPath } from 'node:url';
import { ToolContracts } from '@higgs/schema';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestTenant, type TestTenant } from './test-tenant.ts';

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/higgs-mcp.ts', import.meta.url));

let tenant: TestTenant;
let client: Client | undefined;
beforeEach(async () => {
  tenant = await startTestTenant();
});
afterEach(async () => {
  try {
    await client?.close();
  } finally {
    client = undefined;
    await tenant.close();
  }
});

async function spawnHiggsMcp(token: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: TSX,
    args: [BIN],
    env: { ...getDefaultEnvironment(), HIGGS_URL: tenant.url, HIGGS_TOKEN: token },
    stderr: 'pipe',
  });
  client = new Client({ name: 'ide', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

describe('higgs-mcp over stdio', () => {
  it('lists the tools and runs a call on the tenant as the token\'s principal', async () => {
    const ide = await spawnHiggsMcp('tok-security');
    const { tools } = await ide.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(ToolContracts).sort());

    const result = await ide.callTool({ name: 'quarantine_namespace', arguments: { namespace: 'ml', reason: 'exfiltration' } });
    expect(result.isError).toBeFalsy();
    const { quarantine } = ToolContracts.quarantine_namespace.output.parse(result.structuredContent);
    expect(quarantine.createdBy).toBe(tenant.tokens.get('tok-security')!.id);
    expect(tenant.services.quarantines).toHaveLength(1);
  });

  it('reports the tenant\'s refusal as an isError result with its code', async () => {
    const ide = await spawnHiggsMcp('tok-viewer');
    const result = await ide.callTool({ name: 'quarantine_namespace', arguments: { namespace: 'ml', reason: 'exfiltration' } });
    expect(result.isError).toBe(true);
    expect((result.content as Array<{ text: string }>)[0]!.text).toMatch(/^FORBIDDEN: /);
    expect(tenant.services.quarantines).toHaveLength(0);
  });
});

describe('higgs-mcp configuration', () => {
  it('exits non-zero naming the missing keys, on stderr', async () => {
    const { execFile } = await import('node:child_process');
    const outcome = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = execFile(TSX, [BIN], { env: getDefaultEnvironment() }, (_err, stdout, stderr) => {
        resolve({ code: child.exitCode, stderr, stdout });
      });
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/HIGGS_URL.*HIGGS_TOKEN/);
    expect(outcome.stdout).toBe('');
  });
});
