/**
 * The MCP stdio server for IDEs: the same tool definitions, each call made on
 * the tenant with the user's token. Node-only: served from `@higgs/tools/stdio`.
 */
import type { Principal } from '@higgs/schema';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Readable, Writable } from 'node:stream';
import { loadStdioConfig } from './config.ts';
import { createMcpServer } from './mcp-server.ts';
import { createRemoteRegistry } from './remote-registry.ts';
import type { ToolRegistry } from './types.ts';

/**
 * Who the stdio server acts as, locally. The remote registry never sends it:
 * the tenant resolves HIGGS_TOKEN to the real principal and authorizes there.
 */
export const TOKEN_HOLDER: Principal = Object.freeze({
  id: 'higgs-token-holder', tenantId: 'resolved-by-tenant', name: 'HIGGS_TOKEN holder', kind: 'human', role: 'viewer',
});

export interface StdioServerOptions {
  registry: ToolRegistry;
  principal: Principal;
  stdin?: Readable;
  stdout?: Writable;
}

/** Serves the registry over stdio until the client disconnects or `close()` is called. */
export async function serveStdio(options: StdioServerOptions): Promise<{ close(): Promise<void> }> {
  const server = createMcpServer(options.registry, options.principal);
  await server.connect(new StdioServerTransport(options.stdin, options.stdout));
  return { close: () => server.close() };
}

/**
 * The `higgs-mcp` entry point: reads HIGGS_URL and HIGGS_TOKEN (and optional
 * HIGGS_TIMEOUT_MS) and serves the tenant's tools over stdin/stdout.
 *
 * @example npx tsx tools/bin/higgs-mcp.ts   # with HIGGS_URL and HIGGS_TOKEN set
 */
export async function runHiggsMcp(): Promise<{ close(): Promise<void> }> {
  const config = loadStdioConfig();
  const registry = createRemoteRegistry({ baseUrl: config.HIGGS_URL, token: config.HIGGS_TOKEN, timeoutMs: config.HIGGS_TIMEOUT_MS });
  return serveStdio({ registry, principal: TOKEN_HOLDER });
}
