import { describe, expect, it } from 'vitest';
import { requireOrSkip } from '../testing/require.ts';
import { dataMissing } from './data.ts';
import { evaluateInjection, evaluatePii, evaluateSecrets, formatMetrics, type Metric } from './evaluate.ts';

const run = requireOrSkip('DATA', dataMissing());
const byName = (ms: Metric[]) => new Map(ms.map((m) => [m.name, m]));


describe.runIf(run)('detector evals on ../shared/data', () => {
  it('PII: validated structured types reach F1 ≥ 0.95, names and addresses ≥ 0.80', () => {
    const pii = evaluatePii();
    console.log(formatMetrics(pii));
    const m = byName(pii);
    for (const t of ['email', 'phone', 'ssn', 'credit_card', 'iban', 'ip_address']) expect(m.get(`pii.${t}`)!.f1, t).toBeGreaterThanOrEqual(0.95);
    expect(m.get('pii.address')!.f1).toBeGreaterThanOrEqual(0.8);
    // names: on the test side of the names split (the other side seeded the shipped lists)
    expect(m.get('pii.person')!.f1).toBeGreaterThanOrEqual(0.8);
    expect(m.get('pii.person')!.precision).toBeGreaterThanOrEqual(0.9);
  });

  it('injection: the model reaches F1 ≥ 0.90 on the held-out groups and beats the keyword scorer', () => {
    const m = byName(evaluateInjection());
    const model = m.get('injection.model')!;
    expect(model.f1).toBeGreaterThanOrEqual(0.9);
    expect(model.f1).toBeGreaterThan(m.get('injection.keyword-baseline')!.f1 + 0.3);
  });

  it('secrets: the provider-key families are found where gitleaks finds them', () => {
    const m = byName(evaluateSecrets());
    for (const family of ['slack', 'jwt', 'azure', 'huggingface', 'private-key', 'generic-api-key', 'anthropic']) {
      expect(m.get(`secret.${family}`)!.recall, family).toBeGreaterThanOrEqual(0.95);
    }
  });
});
