/**
 * The agent's only way to the tools: an MCP SDK client connected in process to
 * the same MCP server an IDE gets, under the agent principal.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ToolContracts } from '@higgs/schema';
import type { Principal, ToolInput, ToolName, ToolOutput } from '@higgs/schema';
import { createMcpServer } from '@higgs/tools';
import type { ToolRegistry } from '@higgs/tools';
import { AgentError } from './errors.ts';

export interface ToolClient {
  /** Whether the server offers `name` (tools land area by area; the planner uses what is there). */
  has(name: string): boolean;
  /** Calls `name` over MCP and parses its structuredContent with the tool's output contract. */
  call<N extends ToolName>(name: N, args: ToolInput<N>): Promise<ToolOutput<N>>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'higgs-agent', version: '0.1.0' };

export async function connectToolClient(registry: ToolRegistry, principal: Principal): Promise<ToolClient> {
  const server = createMcpServer(registry, principal);
  const client = new Client(CLIENT_INFO);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  try {
    await client.connect(clientTransport);
  } catch (cause) {
    await server.close();
    throw cause;
  }

  const offered = new Set<string>();
  try {
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      for (const t of page.tools) offered.add(t.name);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (cause) {
    await client.close().catch(() => undefined);
    await server.close();
    throw cause;
  }

  return {
    has: (name) => offered.has(name),
    async call(name, args) {
      const result = await client.callTool({ name, arguments: args as Record<string, unknown> });
      if (result.isError === true) {
        const text = textOf(result.content);
        throw new AgentError('TOOL_FAILED', `${name} failed: ${text}`, { toolCode: toolCodeOf(text) });
      }
      const parsed = ToolContracts[name].output.safeParse(result.structuredContent);
      if (!parsed.success) {
        throw new AgentError('BAD_TOOL_OUTPUT', `${name} returned output outside its contract`, { cause: parsed.error });
      }
      return parsed.data as ToolOutput<typeof name>;
    },
    async close() {
      try {
        await client.close();
      } finally {
        await server.close();
      }
    },
  };
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .filter((c): c is { type: 'text'; text: string } => typeof c === 'object' && c !== null && c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

// The tools MCP server words a refusal as "CODE: message" (tools/src/mcp-server.ts).
function toolCodeOf(text: string): string | undefined {
  return /^([A-Z][A-Z_]*): /.exec(text)?.[1];
}
