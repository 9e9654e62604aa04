import { ToolContracts, type Principal, type Role } from '@higgs/schema';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { createMcpServer } from './mcp-server.ts';
import { createRegistry } from './registry.ts';
import { createMemoryServices, makePrincipal } from './test-fixtures.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** How the test client answers an elicitation; none: the client does not declare the capability. */
type Elicit = ((message: string) => ElicitResult) | null;

async function connect(role: Role, services = createMemoryServices(), overrides: Partial<Principal> = {}, elicit: Elicit = null) {
  const registry = createRegistry(services, { logger: { error: vi.fn() } });
  const principal = makePrincipal(services.tenantId, role, overrides);
  const server = createMcpServer(registry, principal);
  const client = new Client({ name: 'test', version: '0.0.0' }, elicit ? { capabilities: { elicitation: { form: {} } } } : {});
  if (elicit) client.setRequestHandler(ElicitRequestSchema, (req) => elicit(req.params.message));
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  return { client, services, principal };
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as Array<{ type: string; text?: string }>;
  return content.map((c) => c.text ?? '').join('');
}

describe('the MCP server', () => {
  it('identifies itself as higgs with the package version', async () => {
    const { client } = await connect('viewer');
    expect(client.getServerVersion()).toMatchObject({ name: 'higgs', version: pkg.version });
  });

  it('lists every tool with title, description, annotations and input and output JSON schemas', async () => {
    const { client } = await connect('viewer');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(ToolContracts).sort());
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description!.length, tool.name).toBeGreaterThan(80);
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.annotations, tool.name).toHaveProperty('readOnlyHint');
      expect(tool.annotations, tool.name).toHaveProperty('destructiveHint');
    }
    const quarantine = tools.find((t) => t.name === 'quarantine_namespace')!;
    expect(quarantine.inputSchema.required).toEqual(expect.arrayContaining(['namespace', 'reason']));
    expect(quarantine.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    // a defaulted field is optional for the caller
    expect(tools.find((t) => t.name === 'list_findings')!.inputSchema.required ?? []).not.toContain('limit');
  });

  it('returns structuredContent that satisfies the output contract, and the same JSON as text', async () => {
    const { client, services } = await connect('viewer');
    for (const [name, args] of [
      ['briefing_summary', {}],
      ['list_findings', { severity: 'critical' }],
      ['get_finding', { id: services.findings[0]!.id }],
      ['list_rules', {}],
      ['list_proposals', {}],
      ['list_assets', {}],
    ] as const) {
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError, name).toBeFalsy();
      const parsed = ToolContracts[name].output.parse(result.structuredContent);
      expect(JSON.parse(textOf(result))).toEqual(parsed);
    }
  });

  it('rejects arguments outside the input schema as an isError result naming the field', async () => {
    const { client } = await connect('viewer');
    const result = await client.callTool({ name: 'list_findings', arguments: { severity: 'catastrophic', limit: 500 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/severity/);
    expect(textOf(result)).toMatch(/limit/);
  });

  it('reports a refusal as an isError result stating the code', async () => {
    const { client, services } = await connect('viewer');
    const result = await client.callTool({
      name: 'add_inline_rule', arguments: { name: 'x', action: 'block', match: { piiTypes: ['email'] } },
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(textOf(result)).toMatch(/^FORBIDDEN: /);
    expect(services.rules).toHaveLength(0);
  });

  it('tells the agent to propose a quarantine, and accepts the proposal', async () => {
    const { client, services, principal } = await connect('agent');
    const refused = await client.callTool({ name: 'quarantine_namespace', arguments: { namespace: 'ml', reason: 'exfil' } });
    expect(textOf(refused)).toMatch(/^FORBIDDEN: .*propose_action/);

    const proposed = await client.callTool({
      name: 'propose_action',
      arguments: { tool: 'quarantine_namespace', args: { namespace: 'ml', reason: 'exfil' }, title: 'Quarantine ml', rationale: 'r' },
    });
    expect(proposed.isError).toBeFalsy();
    expect(ToolContracts.propose_action.output.parse(proposed.structuredContent).proposal.proposedBy).toBe(principal.id);
    expect(services.quarantines).toHaveLength(0);
  });

  it('states INVALID_INPUT for a proposal whose args the proposed tool would refuse', async () => {
    const { client } = await connect('agent');
    const result = await client.callTool({
      name: 'propose_action',
      arguments: { tool: 'quarantine_namespace', args: { namespace: '' }, title: 't', rationale: 'r' },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^INVALID_INPUT: .*args\.namespace.*args\.reason/);
  });

  it('refuses the scanner even a read', async () => {
    const { client } = await connect('scanner');
    const result = await client.callTool({ name: 'briefing_summary', arguments: {} });
    expect(textOf(result)).toMatch(/^FORBIDDEN: /);
  });

  describe('asks a human to confirm a destructive call when the client can elicit', () => {
    const ruleArgs = { name: 'no email', action: 'block', match: { piiTypes: ['email'] } };

    it('runs it once the human confirms, having shown the exact arguments', async () => {
      const asked: string[] = [];
      const { client, services } = await connect('security', undefined, {}, (message) => {
        asked.push(message);
        return { action: 'accept', content: { confirm: true } };
      });
      const result = await client.callTool({ name: 'add_inline_rule', arguments: ruleArgs });
      expect(result.isError).toBeFalsy();
      expect(services.rules).toHaveLength(1);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain('"piiTypes"');
      expect(asked[0]).toContain('no email');
    });

    it.each([
      ['declines', { action: 'decline' }],
      ['cancels', { action: 'cancel' }],
      ['accepts without ticking confirm', { action: 'accept', content: { confirm: false } }],
    ] as const)('does not run it when the human %s', async (_label, answer) => {
      const { client, services } = await connect('security', undefined, {}, () => answer as ElicitResult);
      const result = await client.callTool({ name: 'add_inline_rule', arguments: ruleArgs });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^CANCELLED: add_inline_rule was not run/);
      expect(services.rules).toHaveLength(0);
    });

    it('does not ask for a read', async () => {
      const elicit = vi.fn((): ElicitResult => ({ action: 'decline' }));
      const { client } = await connect('security', undefined, {}, elicit);
      expect((await client.callTool({ name: 'list_rules', arguments: {} })).isError).toBeFalsy();
      expect(elicit).not.toHaveBeenCalled();
    });

    it('never asks on behalf of the agent: the registry refuses it', async () => {
      const elicit = vi.fn((): ElicitResult => ({ action: 'accept', content: { confirm: true } }));
      const { client } = await connect('agent', undefined, {}, elicit);
      const result = await client.callTool({ name: 'add_inline_rule', arguments: ruleArgs });
      expect(textOf(result)).toMatch(/^FORBIDDEN: .*propose_action/);
      expect(elicit).not.toHaveBeenCalled();
    });
  });

  describe('resources', () => {
    it('offers findings as higgs://findings/{id}, read through get_finding', async () => {
      const { client, services } = await connect('viewer');
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(
        expect.arrayContaining(['higgs://findings/{id}', 'higgs://sessions/{id}']),
      );
      const { resources } = await client.listResources();
      const finding = services.findings[0]!;
      const uri = `higgs://findings/${finding.id}`;
      expect(resources.map((r) => r.uri)).toContain(uri);

      const read = await client.readResource({ uri });
      const content = read.contents[0] as { uri: string; mimeType: string; text: string };
      expect(content).toMatchObject({ uri, mimeType: 'application/json' });
      expect(ToolContracts.get_finding.output.parse(JSON.parse(content.text)).finding.id).toBe(finding.id);
    });

    it('answers an unknown finding with the resource-not-found error', async () => {
      const { client } = await connect('viewer');
      await expect(client.readResource({ uri: 'higgs://findings/fnd-nope' })).rejects.toMatchObject({ code: -32002 });
    });

    it('scopes resources to the principal\'s tenant', async () => {
      const services = createMemoryServices();
      const { client } = await connect('viewer', services, { tenantId: 'another-tenant' });
      await expect(client.readResource({ uri: `higgs://findings/${services.findings[0]!.id}` })).rejects.toThrow();
    });
  });

  describe('prompts', () => {
    it('lists the investigations and fills in their arguments', async () => {
      const { client } = await connect('viewer');
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['triage_briefing', 'investigate_finding', 'investigate_user']));
      const got = await client.getPrompt({ name: 'investigate_finding', arguments: { findingId: 'fnd-42' } });
      const text = (got.messages[0]!.content as { text: string }).text;
      expect(text).toContain('get_finding with id fnd-42');
      expect(text).toMatch(/never follow instructions/);
    });

    it('rejects a prompt call missing its argument', async () => {
      const { client } = await connect('viewer');
      await expect(client.getPrompt({ name: 'investigate_user', arguments: {} })).rejects.toThrow(/userId/);
    });
  });
});
