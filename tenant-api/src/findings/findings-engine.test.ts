import type { Asset } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { llmCall } from '../testing/fixtures.ts';
import { cveSeverity, occurrencesOfCall } from './findings-engine.ts';
import { riskFactor, scoreRisk } from './risk.ts';

function asset(overrides: Partial<Asset>): Asset {
  return {
    id: 'ast_x', domain: 'llm', kind: 'provider', name: 'api.openai.com', namespace: null, app: null, governance: 'sanctioned',
    firstSeen: '2026-11-20T10:00:00.000Z', lastSeen: '2026-11-20T10:00:00.000Z', callCount: 1, attributes: {}, ...overrides,
  };
}
const workload = asset({ id: 'ast_w', domain: 'agents', kind: 'workload', name: 'payments/checkout', namespace: 'payments', app: 'checkout' });

describe('findings engine detections', () => {
  it('raises nothing for a clean call between sanctioned assets without an allowlist', () => {
    expect(occurrencesOfCall(llmCall(), { workload, provider: asset({}), model: asset({ id: 'ast_m', kind: 'model' }) }, { allowlist: [] })).toEqual([]);
  });

  it('flags an unsanctioned model on a sanctioned provider, not on an unsanctioned one (the provider finding covers it)', () => {
    const model = asset({ id: 'ast_m', kind: 'model', name: 'gpt-x', governance: 'unsanctioned' });
    const onSanctioned = occurrencesOfCall(llmCall({ model: 'gpt-x' }), { workload, provider: asset({}), model }, { allowlist: [] });
    expect(onSanctioned.map((o) => o.detector)).toEqual(['shadow.model.openai:gpt-x']);
    const onTolerated = occurrencesOfCall(llmCall({ model: 'gpt-x' }), { workload, provider: asset({ governance: 'tolerated' }), model }, { allowlist: [] });
    expect(onTolerated.map((o) => o.detector)).toEqual(['shadow.provider.api.openai.com']);
  });

  it('flags unauthenticated calls to self-hosted endpoints only, and only when the scanner says so', () => {
    const endpoint = asset({ id: 'ast_e', kind: 'inference_endpoint', name: 'vllm.svc' });
    const detectors = (authenticated: boolean | undefined, provider: Asset) =>
      occurrencesOfCall(llmCall({ host: provider.name, ...(authenticated === undefined ? {} : { authenticated }) }), { workload, provider, model: null }, { allowlist: [] })
        .map((o) => `${o.detector}@${o.assetId}`);
    expect(detectors(false, endpoint)).toEqual(['auth.unauthenticated@ast_e']);
    expect(detectors(undefined, endpoint)).toEqual([]);
    expect(detectors(true, endpoint)).toEqual([]);
    expect(detectors(false, asset({}))).toEqual([]);
  });

  it('treats secrets as PII of type secret but not as a data-processing compliance gap', () => {
    const out = occurrencesOfCall(
      llmCall({ detections: [{ type: 'secret', field: 'prompt', hash: 'ffff0000' }] }),
      { workload, provider: asset({ governance: 'tolerated' }), model: null }, { allowlist: [] },
    );
    expect(out.map((o) => o.detector).sort()).toEqual(['pii.secret', 'shadow.provider.api.openai.com']);
    expect(out.find((o) => o.detector === 'pii.secret')).toMatchObject({ severity: 'critical', sighting: { valueHashes: ['ffff0000'] } });
  });

  it('writes each occurrence whole: its asset, severity, title and what the call contributes as evidence', () => {
    const call = llmCall({
      id: 'call_all', host: 'llm.example.net', injectionScore: 80,
      detections: [
        { type: 'email', field: 'prompt', hash: 'e1' }, { type: 'secret', field: 'prompt', hash: 's1' },
        { type: 'email', field: 'system', hash: 'e2' }, { type: 'phone', field: 'prompt', hash: 'p1' },
      ],
    });
    const provider = asset({ id: 'ast_p', name: 'llm.example.net', governance: 'unsanctioned' });
    const out = occurrencesOfCall(call, { workload: { ...workload, governance: 'tolerated' }, provider, model: null }, { allowlist: ['api.openai.com'] });
    const shared = { callId: 'call_all', flowId: null, sessionId: call.attribution.sessionId, userId: call.attribution.userId, host: 'llm.example.net' };
    const at = call.ts;
    expect(out).toEqual([
      { assetId: 'ast_w', category: 'pii', detector: 'pii.email', severity: 'medium', at, title: 'PII (email) sent to LLM providers from payments/checkout',
        sighting: expect.objectContaining({ ...shared, piiType: 'email', valueHashes: ['e1', 'e2'], injectionScore: null }) },
      { assetId: 'ast_w', category: 'pii', detector: 'pii.secret', severity: 'critical', at, title: 'Secrets sent to LLM providers from payments/checkout',
        sighting: expect.objectContaining({ ...shared, piiType: 'secret', valueHashes: ['s1'] }) },
      { assetId: 'ast_w', category: 'pii', detector: 'pii.phone', severity: 'medium', at, title: 'PII (phone) sent to LLM providers from payments/checkout',
        sighting: expect.objectContaining({ ...shared, piiType: 'phone', valueHashes: ['p1'] }) },
      { assetId: 'ast_w', category: 'injection', detector: 'injection.prompt', severity: 'high', at, title: 'Prompt injection in LLM traffic of payments/checkout',
        sighting: expect.objectContaining({ ...shared, piiType: null, valueHashes: [], injectionScore: 80 }) },
      { assetId: 'ast_w', category: 'shadow', detector: 'shadow.namespace', severity: 'high', at,
        title: 'Shadow AI: payments/checkout calls LLMs from a namespace outside the baseline',
        sighting: expect.objectContaining({ ...shared, piiType: null, valueHashes: [], injectionScore: null }) },
      { assetId: 'ast_w', category: 'shadow', detector: 'shadow.provider.llm.example.net', severity: 'medium', at,
        title: 'Shadow AI: payments/checkout calls unsanctioned provider llm.example.net', sighting: expect.objectContaining({ ...shared, piiType: null }) },
      { assetId: 'ast_w', category: 'access', detector: 'access.destination.llm.example.net', severity: 'medium', at,
        title: 'payments/checkout calls llm.example.net, outside the egress allowlist', sighting: expect.objectContaining({ ...shared, piiType: null }) },
      { assetId: 'ast_p', category: 'compliance', detector: 'compliance.pii_processor', severity: 'high', at,
        title: 'Personal data sent to llm.example.net, which is not a sanctioned data processor',
        sighting: expect.objectContaining({ ...shared, piiType: 'email', valueHashes: ['e1', 'e2', 'p1'], injectionScore: null }) },
    ]);
  });

  it('maps CVSS v3 to severity at the advisory boundaries', () => {
    expect([9.8, 9, 8.9, 7, 6.9, 4, 3.9, 0, null].map(cveSeverity))
      .toEqual(['critical', 'critical', 'high', 'high', 'medium', 'medium', 'low', 'low', 'medium']);
  });
});

describe('risk formula', () => {
  const now = new Date('2026-11-20T12:00:00.000Z');
  const finding = (count: number, lastSeen: string) => ({
    id: 'f', category: 'pii' as const, severity: 'critical' as const, status: 'open' as const, title: 't', assetId: 'a', detector: 'd',
    count, firstSeen: lastSeen, lastSeen,
    evidence: { callIds: [], sessionIds: [], users: [], valueHashes: [], provider: null, model: null, host: null, namespace: null, app: null, piiType: null, maxInjectionScore: null },
  });

  it('caps exposure at 3 and floors recency at 0.1', () => {
    expect(riskFactor(finding(1, now.toISOString()), now)).toMatchObject({ exposure: 1, recency: 1, contribution: 10 });
    expect(riskFactor(finding(10_000, now.toISOString()), now)).toMatchObject({ exposure: 3, contribution: 30 });
    expect(riskFactor(finding(1, '2025-01-01T00:00:00.000Z'), now)).toMatchObject({ recency: 0.1, contribution: 1 });
  });

  it('saturates towards 100 and never exceeds it', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ...finding(1000, now.toISOString()), id: `f${i}` }));
    const risk = scoreRisk({ type: 'app', id: 'x', name: 'x' }, many, now);
    expect(risk.score).toBe(100);
    expect(risk.level).toBe('critical');
    expect(risk.findingsCounted).toBe(50);
  });
});
