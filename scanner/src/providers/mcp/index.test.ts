import { describe, expect, it } from 'vitest';
import { blockedToolResult, describeResult, jsonRpcResponses, McpEventStream, parseMcpRequests, redactMcpRequest } from './index.ts';

// Messages as the MCP TypeScript SDK client and server send them (spec 2025-06-18).
const call = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'lookup_customer', arguments: { customer_id: 'c-7', note: 'ssn 536-22-8841' } } };

describe('mcp json-rpc', () => {
  it('reads requests with their tool and input, and skips notifications and responses', () => {
    expect(parseMcpRequests(call)).toEqual([{ id: 3, method: 'tools/call', toolName: 'lookup_customer', input: '{"customer_id":"c-7","note":"ssn 536-22-8841"}' }]);
    expect(parseMcpRequests([
      { jsonrpc: '2.0', id: 'a', method: 'resources/read', params: { uri: 'customers://schema' } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 9, result: {} },
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'ide', version: '1' } } },
    ])).toEqual([
      { id: 'a', method: 'resources/read', toolName: 'customers://schema', input: 'customers://schema' },
      { id: 1, method: 'initialize', toolName: null, input: '{"protocolVersion":"2025-06-18","clientInfo":{"name":"ide","version":"1"}}' },
    ]);
    expect(parseMcpRequests({ model: 'gpt-4o', messages: [] })).toBeNull();
    expect(parseMcpRequests([])).toBeNull();
  });

  it('describes results of each method, tool errors and protocol errors', () => {
    expect(describeResult('tools/call', { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'Ada, gold tier' }, { type: 'image', data: 'x', mimeType: 'image/png' }] } }))
      .toEqual({ output: 'Ada, gold tier\n[image]', isError: false });
    expect(describeResult('tools/call', { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'no such table' }], isError: true } }))
      .toEqual({ output: 'no such table', isError: true });
    expect(describeResult('tools/list', { jsonrpc: '2.0', id: 2, result: { tools: [{ name: 'lookup_customer', inputSchema: {} }, { name: 'run_sql', inputSchema: {} }] } }).output)
      .toBe('lookup_customer\nrun_sql');
    expect(describeResult('resources/read', { jsonrpc: '2.0', id: 4, result: { contents: [{ uri: 'customers://schema', text: 'id, name' }] } }).output).toBe('id, name');
    expect(describeResult('tools/call', { jsonrpc: '2.0', id: 5, error: { code: -32602, message: 'Unknown tool' } })).toEqual({ output: '-32602 Unknown tool', isError: true });
    expect(jsonRpcResponses([{ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', method: 'notifications/progress' }])).toHaveLength(1);
  });

  it('reads the legacy endpoint event and JSON-RPC messages from a stream split anywhere', () => {
    const sse = 'event: endpoint\ndata: /messages?sessionId=5f1c\n\nevent: message\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[]}}\n\n';
    for (let cut = 1; cut < sse.length; cut++) {
      const endpoints: string[] = [];
      const messages: unknown[] = [];
      const s = new McpEventStream({ onMessage: (m) => messages.push(m), onEndpoint: (u) => endpoints.push(u) });
      s.push(sse.slice(0, cut));
      s.push(sse.slice(cut));
      s.end();
      expect(endpoints).toEqual(['/messages?sessionId=5f1c']);
      expect(messages).toEqual([{ jsonrpc: '2.0', id: 3, result: { content: [] } }]);
    }
  });

  it('redacts tool arguments only, and answers a block as a tool error with the request id', () => {
    const out = redactMcpRequest(call, (t) => t.replace(/\d{3}-\d{2}-\d{4}/, '[SSN]')) as typeof call;
    expect(out.params.arguments).toEqual({ customer_id: 'c-7', note: 'ssn [SSN]' });
    expect(redactMcpRequest({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { x: '536-22-8841' } }, () => 'X')).toMatchObject({ params: { x: '536-22-8841' } });
    expect(blockedToolResult(3, 'Blocked by Higgs policy: no SQL')).toEqual({
      jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'Blocked by Higgs policy: no SQL' }], isError: true },
    });
  });
});
