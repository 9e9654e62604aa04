import type { PiiType } from '@higgs/schema';
import { INJECTION_THRESHOLD, detectPii, injectionScore, keywordInjectionScore } from '@higgs/scanner/detectors';
import { PII_SPLIT, isTestGroup, readJsonl, type PiiRow, type SecretRow } from './data.ts';
import { INJECTION_SPLIT, loadInjectionSplit } from './injection-split.ts';

/** Precision / recall / F1 of one detector on one slice of the data, with the floor it must reach (if any). */
export interface Metric {
  name: string;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  /** F1 the detector must reach; null = reported only */
  minF1: number | null;
  note: string;
}

// presidio labels → detector types (../shared/data/README.md)
const PRESIDIO: Readonly<Record<string, PiiType>> = {
  EMAIL_ADDRESS: 'email', PHONE_NUMBER: 'phone', CREDIT_CARD: 'credit_card', US_SSN: 'ssn', IBAN_CODE: 'iban',
  IP_ADDRESS: 'ip_address', PERSON: 'person', STREET_ADDRESS: 'address', ADDRESS: 'address',
};
const VALIDATED: readonly PiiType[] = ['email', 'phone', 'ssn', 'credit_card', 'iban', 'ip_address'];
const FUZZY: readonly PiiType[] = ['person', 'address'];

function metric(name: string, tp: number, fp: number, fn: number, minF1: number | null, note: string): Metric {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { name, tp, fp, fn, precision, recall, f1, minF1, note };
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

/**
 * PII per type on presidio_synth: a predicted span is a true positive when it
 * overlaps a gold span of the same type; a gold span is found when a predicted
 * span of its type overlaps it. Person names are scored on the test side of
 * the names split only (the other side seeded the shipped name lists).
 */
export function evaluatePii(): Metric[] {
  const counts = new Map<PiiType, { tp: number; fp: number; fn: number }>();
  for (const t of [...VALIDATED, ...FUZZY]) counts.set(t, { tp: 0, fp: 0, fn: 0 });
  for (const row of readJsonl<PiiRow>('pii/presidio_synth.jsonl')) {
    const testSide = isTestGroup(PII_SPLIT.salt, row.text, PII_SPLIT.testShare);
    const predicted = detectPii(row.text);
    const gold = row.spans.flatMap((s) => (PRESIDIO[s.type] ? [{ ...s, type: PRESIDIO[s.type]! }] : []));
    for (const [type, c] of counts) {
      if (type === 'person' && !testSide) continue;
      const p = predicted.filter((s) => s.type === type);
      const g = gold.filter((s) => s.type === type);
      for (const s of p) {
        if (g.some((x) => overlaps(s, x))) c.tp++;
        else c.fp++;
      }
      for (const s of g) if (!p.some((x) => overlaps(s, x))) c.fn++;
    }
  }
  return [...counts].map(([type, c]) => metric(
    `pii.${type}`, c.tp, c.fp, c.fn, VALIDATED.includes(type) ? 0.95 : 0.8,
    type === 'person' ? 'names-split test side' : 'all rows',
  ));
}

// gitleaks rule ids → the detector's secret kinds that answer for them
const SECRET_FAMILIES: readonly { family: string; rules: RegExp; kinds: RegExp }[] = [
  { family: 'aws', rules: /^aws-/, kinds: /^aws_/ },
  { family: 'openai', rules: /^openai-/, kinds: /^openai_/ },
  { family: 'anthropic', rules: /^anthropic-/, kinds: /^anthropic_/ },
  { family: 'gcp', rules: /^gcp-api-key$/, kinds: /^gcp_/ },
  { family: 'azure', rules: /^azure-/, kinds: /^azure_/ },
  { family: 'github', rules: /^github-/, kinds: /^github_/ },
  { family: 'gitlab', rules: /^gitlab-/, kinds: /^gitlab_/ },
  { family: 'slack', rules: /^slack-/, kinds: /^slack_/ },
  { family: 'stripe', rules: /^stripe-/, kinds: /^stripe_/ },
  { family: 'huggingface', rules: /^huggingface-/, kinds: /^huggingface_/ },
  { family: 'private-key', rules: /^private-key$/, kinds: /^private_key$/ },
  { family: 'jwt', rules: /^jwt$/, kinds: /^jwt$/ },
  { family: 'generic-api-key', rules: /^generic-api-key$/, kinds: /^generic_secret$/ },
  // every other gitleaks rule: does anything in the secret detector catch it?
  { family: 'other rules (any kind)', rules: /./, kinds: /./ },
];

/**
 * Secrets per rule family on gitleaks' rule cases: a positive is found when a
 * secret of the family's kinds overlaps its span (or fires at all when the
 * row has no span); a negative is a false positive when one fires.
 */
export function evaluateSecrets(): Metric[] {
  const rows = readJsonl<SecretRow>('secrets/gitleaks_rule_cases.jsonl');
  const claimed = SECRET_FAMILIES.slice(0, -1);
  return SECRET_FAMILIES.map(({ family, rules, kinds }) => {
    let tp = 0, fp = 0, fn = 0;
    const mine = rows.filter((r) => rules.test(r.rule_id) && (family.startsWith('other') ? !claimed.some((f) => f.rules.test(r.rule_id)) : true));
    for (const r of mine) {
      const found = detectPii(r.text).filter((s) => s.type === 'secret' && kinds.test(s.kind ?? ''));
      const hit = r.spans && r.spans.length > 0 ? found.some((s) => r.spans!.some((g) => overlaps(s, g))) : found.length > 0;
      if (r.label === 1 && hit) tp++;
      else if (r.label === 1) fn++;
      else if (found.length > 0) fp++;
    }
    return metric(`secret.${family}`, tp, fp, fn, null, `${mine.length} rule cases`);
  });
}

/**
 * Injection on the test side of the grouped split (the model never saw it),
 * at the default threshold, beside the keyword scorer as the baseline.
 */
export function evaluateInjection(): Metric[] {
  const { test } = loadInjectionSplit();
  const score = (scorer: (t: string) => number) => {
    let tp = 0, fp = 0, fn = 0;
    for (const r of test) {
      const hit = scorer(r.text) >= INJECTION_THRESHOLD;
      if (hit && r.label === 1) tp++;
      else if (hit) fp++;
      else if (r.label === 1) fn++;
    }
    return { tp, fp, fn };
  };
  const model = score(injectionScore);
  const keywords = score(keywordInjectionScore);
  const note = `test side ${Math.round(INJECTION_SPLIT.testShare * 100)}% (${test.length} rows), score >= ${INJECTION_THRESHOLD}`;
  return [
    metric('injection.model', model.tp, model.fp, model.fn, 0.9, note),
    metric('injection.keyword-baseline', keywords.tp, keywords.fp, keywords.fn, null, note),
  ];
}

/** Every detector metric; `failing` lists those under their floor. */
export function evaluateDetectors(): { metrics: Metric[]; failing: Metric[] } {
  const metrics = [...evaluatePii(), ...evaluateSecrets(), ...evaluateInjection()];
  return { metrics, failing: metrics.filter((m) => m.minF1 !== null && m.f1 < m.minF1) };
}

/** The metrics as an aligned text table. */
export function formatMetrics(metrics: readonly Metric[]): string {
  const pct = (x: number) => x.toFixed(3);
  const rows = metrics.map((m) => [
    m.name, String(m.tp), String(m.fp), String(m.fn), pct(m.precision), pct(m.recall), pct(m.f1),
    m.minF1 === null ? '—' : `${m.f1 >= m.minF1 ? 'ok' : 'FAIL'} ≥ ${m.minF1}`, m.note,
  ]);
  const header = ['detector', 'tp', 'fp', 'fn', 'precision', 'recall', 'F1', 'floor', 'scored on'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}
