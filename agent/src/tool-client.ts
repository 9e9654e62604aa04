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
  /** The tools the server lists, as MCP describes them (name, description, JSON Schema input, annotations). */
  definitions(): readonly ToolDescription[];
  /**
   * Calls a tool a model chose: never throws for the tool's own refusal, which
   * comes back as `{ ok: false, error }` text the model can read.
   */
  callChosen(name: string, args: Record<string, unknown>): Promise<{ ok: true; output: unknown } | { ok: false; error: string }>;
  /** Calls `name` over MCP and parses its structuredContent with the tool's output contract. */
  call<N extends ToolName>(name: N, args: ToolInput<N>): Promise<ToolOutput<N>>;
  close(): Promise<void>;
}

export interface ToolDescription {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  readOnly: boolean;
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
  const described: ToolDescription[] = [];
  try {
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      for (const t of page.tools) {
        offered.add(t.name);
        described.push({
          name: t.name, description: t.description ?? '', inputSchema: t.inputSchema as Record<string, unknown>,
          readOnly: t.annotations?.readOnlyHint === true,
        });
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (cause) {
    await client.close().catch(() => undefined);
    await server.close();
    throw cause;
  }

  return {
    has: (name) => offered.has(name),
    definitions: () => described,
    async callChosen(name, args) {
      if (!offered.has(name)) return { ok: false, error: `UNKNOWN_TOOL: there is no tool ${name}` };
      const result = await client.callTool({ name, arguments: args });
      if (result.isError === true) return { ok: false, error: textOf(result.content) };
      const contract = (ToolContracts as Record<string, { output: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: unknown } } }>)[name];
      const parsed = contract?.output.safeParse(result.structuredContent);
      if (!parsed?.success) throw new AgentError('BAD_TOOL_OUTPUT', `${name} returned output outside its contract`, { cause: parsed?.error });
      return { ok: true, output: parsed.data };
    },
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
