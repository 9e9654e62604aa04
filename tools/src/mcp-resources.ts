/**
 * Findings and sessions as MCP resources (`higgs://findings/{id}`,
 * `higgs://sessions/{id}`), so a client can attach one to a conversation.
 * Reading a resource is the same registry call as the tool (get_finding,
 * replay_session): the same role checks, tenant scoping and output contract.
 */
import type { Principal, ToolName } from '@higgs/schema';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ListResourcesResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolRegistry } from './types.ts';

/** How many resources a listing offers: the most recent, like the tools' first page. */
const LIST_LIMIT = 50;
/** JSON-RPC error code the MCP spec gives "resource not found". */
const RESOURCE_NOT_FOUND = -32002;

interface ResourceKind {
  name: string;
  template: string;
  title: string;
  description: string;
  read: { tool: ToolName; arg: string };
  list: { tool: ToolName; items: string; id: string; label: (item: Record<string, unknown>) => string };
}

const KINDS: readonly ResourceKind[] = [
  {
    name: 'finding',
    template: 'higgs://findings/{id}',
    title: 'Finding',
    description: 'A security finding with its evidence, asset, obligations, remediation and suggested block (get_finding).',
    read: { tool: 'get_finding', arg: 'id' },
    list: {
      tool: 'list_findings', items: 'findings', id: 'id',
      label: (f) => `[${String(f.severity)}] ${String(f.title)}`,
    },
  },
  {
    name: 'session',
    template: 'higgs://sessions/{id}',
    title: 'Session',
    description: 'A session replayed: who triggered it, and every LLM call in order with redactions applied (replay_session).',
    read: { tool: 'replay_session', arg: 'sessionId' },
    list: {
      tool: 'list_sessions', items: 'sessions', id: 'id',
      label: (s) => `session ${String(s.id)}${s.userId ? ` — ${String(s.userId)}` : ''}`,
    },
  },
];

export function registerResources(server: McpServer, registry: ToolRegistry, principal: Principal): void {
  for (const kind of KINDS) {
    const list = () => listResources(registry, principal, kind);
    server.registerResource(
      kind.name,
      new ResourceTemplate(kind.template, { list }),
      { title: kind.title, description: kind.description, mimeType: 'application/json' },
      async (uri, variables) => {
        const id = decodeURIComponent(String(variables.id ?? ''));
        const result = await registry.call(kind.read.tool, { [kind.read.arg]: id }, principal);
        if (!result.ok) {
          const code = result.error.code === 'NOT_FOUND' ? RESOURCE_NOT_FOUND : ErrorCode.InvalidRequest;
          throw new McpError(code, `${result.error.code}: ${result.error.message}`, { uri: uri.href });
        }
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(result.output) }] };
      },
    );
  }
}

async function listResources(registry: ToolRegistry, principal: Principal, kind: ResourceKind): Promise<ListResourcesResult> {
  const result = await registry.call(kind.list.tool, { limit: LIST_LIMIT }, principal);
  if (!result.ok) throw new McpError(ErrorCode.InvalidRequest, `${result.error.code}: ${result.error.message}`);
  const items = (result.output as Record<string, unknown>)[kind.list.items] as Array<Record<string, unknown>>;
  return {
    resources: items.map((item) => {
      const id = String(item[kind.list.id]);
      return {
        uri: kind.template.replace('{id}', encodeURIComponent(id)),
        name: kind.list.label(item),
        mimeType: 'application/json',
      };
    }),
  };
}
