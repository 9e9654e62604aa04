import { SseDecoder } from '../sse.ts';
import { isRecord, str } from '../types.ts';
import { mapStrings } from '../json-walk.ts';

/**
 * MCP JSON-RPC as it crosses HTTP, for both transports: Streamable HTTP
 * (POST answered with `application/json` or a `text/event-stream` carrying the
 * response) and the older HTTP+SSE transport (a GET event stream that first
 * announces the POST endpoint, then carries every response).
 * https://modelcontextprotocol.io/specification/2025-06-18/basic/transports
 */

export type JsonRpcId = string | number;

/** One client request worth recording, with the tool (or resource) it names and its input as text. */
export interface McpRequest {
  id: JsonRpcId;
  method: string;
  /** tools/call and prompts/get: the name; resources/read: the URI */
  toolName: string | null;
  /** tools/call: the arguments as JSON; resources/read: the URI; initialize: the client info */
  input: string | null;
}

/** What the server answered to one request. */
export interface McpResult {
  output: string | null;
  isError: boolean;
}

/**
 * The requests (messages with an id and a method) of a POSTed JSON-RPC
 * message or batch; null when the body is not JSON-RPC. Notifications and
 * responses to server requests are left out: nothing is answered to them.
 */
export function parseMcpRequests(body: unknown): McpRequest[] | null {
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every((m) => isRecord(m) && m.jsonrpc === '2.0')) return null;
  const out: McpRequest[] = [];
  for (const m of messages as Array<Record<string, unknown>>) {
    if (typeof m.method !== 'string' || !(typeof m.id === 'string' || typeof m.id === 'number')) continue;
    const params = isRecord(m.params) ? m.params : {};
    let toolName: string | null = null;
    let input: string | null = null;
    switch (m.method) {
      case 'tools/call':
      case 'prompts/get':
        toolName = str(params.name);
        input = JSON.stringify(params.arguments ?? {});
        break;
      case 'resources/read':
        toolName = str(params.uri);
        input = str(params.uri);
        break;
      case 'initialize':
        input = JSON.stringify({ protocolVersion: params.protocolVersion ?? null, clientInfo: params.clientInfo ?? null });
        break;
      default:
    }
    out.push({ id: m.id, method: m.method, toolName, input });
  }
  return out;
}

/** The result of a JSON-RPC response to `method`, as text worth recording and scanning. */
export function describeResult(method: string, response: Record<string, unknown>): McpResult {
  if (isRecord(response.error)) {
    return { output: `${String(response.error.code ?? '')} ${str(response.error.message) ?? ''}`.trim(), isError: true };
  }
  const r = isRecord(response.result) ? response.result : {};
  switch (method) {
    case 'tools/call':
      return { output: contentText(r.content), isError: r.isError === true };
    case 'tools/list':
      return { output: (Array.isArray(r.tools) ? r.tools : []).flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : [])).join('\n'), isError: false };
    case 'resources/read':
      return {
        output: (Array.isArray(r.contents) ? r.contents : []).map((c) => (isRecord(c) ? str(c.text) ?? (typeof c.blob === 'string' ? '[blob]' : '') : '')).join('\n'),
        isError: false,
      };
    case 'prompts/get':
      return { output: (Array.isArray(r.messages) ? r.messages : []).map((m) => (isRecord(m) ? contentText([m.content]) : '')).join('\n'), isError: false };
    case 'initialize': {
      const info = isRecord(r.serverInfo) ? r.serverInfo : {};
      return { output: JSON.stringify({ protocolVersion: r.protocolVersion ?? null, serverInfo: { name: info.name ?? null, version: info.version ?? null } }), isError: false };
    }
    default:
      return { output: JSON.stringify(r).slice(0, 4096), isError: false };
  }
}

function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content.map((c) => {
    if (!isRecord(c)) return '';
    if (c.type === 'text') return str(c.text) ?? '';
    if (c.type === 'resource' && isRecord(c.resource)) return str(c.resource.text) ?? '';
    return `[${String(c.type)}]`;
  }).filter(Boolean).join('\n');
}

/** JSON-RPC responses (id + result or error) in a JSON body, single or batch. */
export function jsonRpcResponses(body: unknown): Array<Record<string, unknown>> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter((m): m is Record<string, unknown> => isRecord(m) && m.jsonrpc === '2.0' && 'id' in m && ('result' in m || 'error' in m));
}

/**
 * Reads an MCP event stream as it passes: JSON-RPC messages from `message`
 * events, and the POST endpoint the legacy transport announces in its first
 * `endpoint` event.
 */
export class McpEventStream {
  private readonly decoder: SseDecoder;

  constructor(handlers: { onMessage(m: Record<string, unknown>): void; onEndpoint?(uri: string): void }) {
    this.decoder = new SseDecoder(({ event, data }) => {
      if (event === 'endpoint') {
        handlers.onEndpoint?.(data.trim());
        return;
      }
      if (event !== 'message') return;
      let m: unknown;
      try {
        m = JSON.parse(data);
      } catch {
        return;
      }
      for (const r of Array.isArray(m) ? m : [m]) if (isRecord(r)) handlers.onMessage(r);
    });
  }

  push(text: string): void {
    this.decoder.push(text);
  }

  end(): void {
    this.decoder.end();
  }
}

/**
 * The answer to a tools/call the policy refused: a successful JSON-RPC
 * response whose result is a tool error the model can read (the MCP way to
 * report a failing tool), never a protocol error.
 */
export function blockedToolResult(id: JsonRpcId, message: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: message }], isError: true } };
}

/** A JSON-RPC message as one SSE `message` event. */
export function sseMessage(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/** Applies `redact` to every string in the arguments of each tools/call and prompts/get of a message or batch. */
export function redactMcpRequest(body: unknown, redact: (t: string) => string): unknown {
  const one = (m: unknown): unknown => {
    if (!isRecord(m) || (m.method !== 'tools/call' && m.method !== 'prompts/get') || !isRecord(m.params)) return m;
    return { ...m, params: { ...m.params, arguments: mapStrings(m.params.arguments, redact) } };
  };
  return Array.isArray(body) ? body.map(one) : one(body);
}

