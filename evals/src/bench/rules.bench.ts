import { compilePolicy, type RuleInput } from '@higgs/scanner';
import type { Rule, RuleMatch, ScannerPolicy } from '@higgs/schema';
import type { BenchResult } from './types.ts';

const RULES = 10_000;
const EVALUATIONS = 3_000;
const WARMUP = 1_000;
const RUNS = 5;

// deterministic, so runs compare: a linear congruential generator
function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
}

const WORDS = ('the customer asked about the invoice and the refund policy for order number please summarise this thread '
  + 'with the account manager before friday and include the shipping details contract renewal quarterly review').split(' ');

/**
 * A policy shaped like the ones the product writes (rules from findings are
 * scoped to a namespace or app; literal and pattern rules from analysts),
 * 10 000 rules in all.
 */
function policy(): ScannerPolicy {
  const r = rng(42);
  const namespaces = Array.from({ length: 200 }, (_, i) => `ns-${i}`);
  const rules: Rule[] = [];
  const add = (action: Rule['action'], match: RuleMatch): void => {
    rules.push({ id: `r${rules.length}`, name: `rule ${rules.length}`, action, match, enabled: true, createdBy: 'bench', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null });
  };
  const action = (): Rule['action'] => (['block', 'redact', 'alert'] as const)[r(3)]!;
  while (rules.length < 6_000) {
    const m: RuleMatch = { promptContains: [`codename-${r(100_000)}`, `${WORDS[r(WORDS.length)]} project-${r(100_000)}`] };
    if (r(2) === 0) m.namespaces = [namespaces[r(200)]!];
    add(action(), m);
  }
  while (rules.length < 7_500) add(action(), r(2) ? { namespaces: [namespaces[r(200)]!], models: [`gpt-${r(9)}*`] } : { users: [`user-${r(10_000)}`] });
  while (rules.length < 8_500) add(action(), { piiTypes: [(['ssn', 'email', 'credit_card', 'iban'] as const)[r(4)]!], namespaces: [namespaces[r(200)]!] });
  while (rules.length < 9_000) add('block', { injectionScoreGte: 50 + r(50), namespaces: [namespaces[r(200)]!] });
  while (rules.length < 9_300) add('alert', { hosts: [`*.host-${r(1000)}.example`], models: [`model-${r(1000)}*`] });
  while (rules.length < 9_700) add(action(), { promptPattern: `(?i)ticket-${r(100_000)}\\s+#\\d{3,6}`, ...(r(2) ? { namespaces: [namespaces[r(200)]!] } : {}) });
  while (rules.length < RULES) add(action(), { responseContains: [`leak-${r(100_000)}`], apps: [`app-${r(100)}`] });
  return { version: 'bench', rules, quarantinedNamespaces: [], blockedSessions: [] };
}

function prompt(r: (n: number) => number): string {
  let text = '';
  while (text.length < 4096) text += `${WORDS[r(WORDS.length)]} `;
  // two literals and one pattern that some rules carry, somewhere in the text
  return `${text.slice(0, 1500)} codename-17 ${text.slice(1500, 3000)} ticket-123 #4567 ${text.slice(3000, 4060)}`;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * Rule evaluation with 10 000 active rules on a 4 KB prompt (compiled once, as
 * per policy version). The baseline is JSON.parse of a request body carrying
 * the same prompt, timed in the same run (see detectors.bench.ts): the ratio
 * stays comparable on a loaded machine where the microseconds do not.
 */
export async function run(): Promise<BenchResult[]> {
  const compiled = compilePolicy(policy());
  const r = rng(7);
  const inputs: RuleInput[] = Array.from({ length: 64 }, () => ({
    provider: 'openai', model: 'gpt-4o-mini', host: 'api.openai.com', namespace: `ns-${r(200)}`, app: `app-${r(100)}`, userId: `user-${r(10_000)}`,
    promptText: prompt(r), detections: [{ type: 'email', field: 'prompt', hash: 'aaaabbbbccccdddd' }], injectionScore: r(100), toolNames: [],
  }));
  const p50s: number[] = [];
  const p99s: number[] = [];
  const base50s: number[] = [];
  const base99s: number[] = [];
  const bodies = inputs.map((i) => JSON.stringify({ model: i.model, messages: [{ role: 'user', content: i.promptText }] }));
  let hits = 0;
  // let the JIT settle first: a policy is compiled once and evaluated for every call after
  for (let i = 0; i < WARMUP; i++) hits += compiled.evaluate(inputs[i % inputs.length]!).length;
  for (let run = 0; run < RUNS; run++) {
    const times = new Float64Array(EVALUATIONS);
    for (let i = 0; i < EVALUATIONS; i++) {
      const input = inputs[i % inputs.length]!;
      const t0 = process.hrtime.bigint();
      hits += compiled.evaluate(input).length;
      times[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    times.sort();
    p50s.push(percentile(times, 0.5));
    p99s.push(percentile(times, 0.99));
    for (let i = 0; i < EVALUATIONS; i++) {
      const body = bodies[i % bodies.length]!;
      const t0 = process.hrtime.bigint();
      JSON.parse(body);
      times[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    times.sort();
    base50s.push(percentile(times, 0.5));
    base99s.push(percentile(times, 0.99));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (hits === 0) throw new Error('the bench prompts match no rule: the workload is wrong');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p50 = median(p50s);
  const p99 = median(p99s);
  const b50 = median(base50s);
  const b99 = median(base99s);
  return [
    { name: 'rules: evaluate, 10k rules, 4 KB prompt, p50', value: round(p50), unit: 'us', baseline: round(b50), ratio: p50 / b50 },
    { name: 'rules: evaluate, 10k rules, 4 KB prompt, p99', value: round(p99), unit: 'us', baseline: round(b99), ratio: p99 / b99, target: 'p99 <= 200 us', pass: p99 <= 200 },
  ];
}

const round = (x: number): number => Math.round(x * 10) / 10;
