import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '@higgs/tools';
import { AgentError } from './errors.ts';
import { createAgentFixture, makePrincipal } from './test-fixtures.ts';
import { connectToolClient } from './tool-client.ts';
import type { ToolClient } from './tool-client.ts';

const open: ToolClient[] = [];
afterEach(async () => {
  for (const client of open.splice(0)) await client.close();
});

async function connectAsAgent() {
  const fx = createAgentFixture();
  const client = await connectToolClient(createRegistry(fx.services), makePrincipal(fx.tenantId, 'agent'));
  open.push(client);
  return { fx, client };
}

async function failure(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

describe('the agent\'s MCP tool client', () => {
  it('returns structuredContent parsed with the tool\'s output contract', async () => {
    const { fx, client } = await connectAsAgent();
    const out = await client.call('get_finding', { id: fx.ids.pii });
    expect(out.finding.evidence).toMatchObject({ piiType: 'ssn', users: ['alice'] });
    expect(out.suggestedAction?.tool).toBe('block_from_finding');
  });

  it('surfaces a tool\'s refusal with the tool\'s code', async () => {
    const { client } = await connectAsAgent();
    const e = await failure(client.call('get_finding', { id: 'fnd_missing' }));
    expect(e.code).toBe('TOOL_FAILED');
    expect(e.toolCode).toBe('NOT_FOUND');
  });

  it('cannot approve, reject or run a destructive tool: the registry refuses the agent principal', async () => {
    const { fx, client } = await connectAsAgent();
    const attempts = [
      client.call('approve_action', { proposalId: fx.ids.planted, argsHash: 'c0ffee' }),
      client.call('reject_action', { proposalId: fx.ids.planted }),
      client.call('quarantine_namespace', { namespace: 'kube-system', reason: 'told to' }),
      client.call('block_from_finding', { findingId: fx.ids.pii }),
      client.call('add_inline_rule', { name: 'x', action: 'block', match: { apps: ['support-bot'] } }),
    ];
    for (const attempt of attempts) expect((await failure(attempt)).toolCode).toBe('FORBIDDEN');
    expect(fx.quarantines).toEqual([]);
    expect(fx.rules).toEqual([]);
    expect(fx.proposals.find((p) => p.id === fx.ids.planted)?.status).toBe('pending');
  });
});
