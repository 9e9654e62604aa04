import type { NetworkFlow } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { eventId } from '../testing/fixtures.ts';
import { assetId, endpointKind, flowDestination, matchesAllowlist } from './asset-registry.ts';

const baseline = { namespaces: ['payments'], providers: ['openai', 'mcp.approved.svc'] };

function flow(overrides: Partial<NetworkFlow> = {}): NetworkFlow {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', pid: 1, comm: 'python', cgroupId: '1', srcIp: '10.0.0.9',
    srcPort: 40000, dstIp: '104.18.1.1', dstPort: 443, dstHost: 'api.mistral.ai', provider: 'mistral', state: 'established',
    source: { ip: '10.0.0.9', namespace: 'research', app: 'notebook', mode: null }, ...overrides,
  };
}

describe('asset registry classification', () => {
  it('matches the allowlist by exact host or *.suffix, case-insensitively, never by bare suffix', () => {
    expect(matchesAllowlist(['api.openai.com'], 'API.OpenAI.com')).toBe(true);
    expect(matchesAllowlist(['*.openai.com'], 'eu.api.openai.com')).toBe(true);
    expect(matchesAllowlist(['*.openai.com'], 'openai.com')).toBe(false);
    expect(matchesAllowlist(['*.openai.com'], 'evilopenai.com')).toBe(false);
    expect(matchesAllowlist([], 'api.openai.com')).toBe(false);
  });

  it('tells hosted providers from self-hosted inference endpoints', () => {
    expect(endpointKind('openai', 'api.openai.com')).toBe('provider');
    expect(endpointKind('openai_compatible', 'llm.example.com')).toBe('inference_endpoint');
    expect(endpointKind('openai', 'vllm.ml.svc.cluster.local')).toBe('inference_endpoint');
    expect(endpointKind('openai', '10.2.3.4')).toBe('inference_endpoint');
    expect(endpointKind('openai', '172.32.0.1')).toBe('provider');
  });

  it('classifies flow destinations: providers unsanctioned unless in the baseline, MCP, Ollama, databases, and nothing else', () => {
    expect(flowDestination(flow(), baseline, [])).toMatchObject({
      id: assetId('llm', 'provider', 'api.mistral.ai'), kind: 'provider', governance: 'unsanctioned', attributes: { seenInFlows: 'true' },
    });
    expect(flowDestination(flow({ provider: 'openai', dstHost: 'api.openai.com' }), baseline, [])).toMatchObject({ governance: 'sanctioned' });
    expect(flowDestination(flow({ provider: 'mcp', dstHost: 'mcp.approved.svc' }), baseline, [])).toMatchObject({ kind: 'mcp_server', governance: 'sanctioned' });
    expect(flowDestination(flow({ provider: 'mcp', dstHost: 'mcp.other.svc' }), baseline, [])).toMatchObject({ kind: 'mcp_server', governance: 'unsanctioned' });
    expect(flowDestination(flow({ provider: null, dstHost: null, dstIp: '10.1.1.1', dstPort: 11434 }), baseline, []))
      .toMatchObject({ domain: 'llm', kind: 'inference_endpoint', name: '10.1.1.1:11434', governance: 'unsanctioned' });
    expect(flowDestination(flow({ provider: null, dstHost: 'db.svc', dstPort: 5432 }), baseline, ['db.svc']))
      .toMatchObject({ domain: 'data', kind: 'data_source', governance: 'sanctioned', attributes: { engine: 'postgresql' } });
    expect(flowDestination(flow({ provider: null, dstHost: 'example.com', dstPort: 443 }), baseline, [])).toBeNull();
  });

  it('gives one thing one id, and different kinds different ids', () => {
    expect(assetId('llm', 'provider', 'api.openai.com')).toBe(assetId('llm', 'provider', 'api.openai.com'));
    expect(assetId('llm', 'provider', 'x')).not.toBe(assetId('llm', 'model', 'x'));
  });
});
