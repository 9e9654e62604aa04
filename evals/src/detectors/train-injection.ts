/**
 * Trains the prompt-injection model and writes
 * scanner/src/detectors/injection-model.json. Logistic regression (full-batch
 * Adam, L2) over `injectionVector` features, on the train side of the grouped
 * split of ../shared/data/injection; prints precision / recall / F1 on the
 * test side. Deterministic: same data, same weights.
 * Run: `tsx evals/src/detectors/train-injection.ts`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INJECTION_HASH_DIM, injectionLogit, injectionVector, type InjectionModel } from '@higgs/scanner/detectors';
import { loadInjectionSplit } from './injection-split.ts';

const EPOCHS = 300;
const LEARNING_RATE = 0.05;
const L2 = 1e-4;

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scanner/src/detectors/injection-model.json');
const { train, test } = loadInjectionSplit();
const xs = train.map((r) => injectionVector(r.text));
const ys = train.map((r) => r.label);
const positives = ys.filter((y) => y === 1).length;
// balance the classes so the 0.5 threshold sits between them
const classWeight = [train.length / (2 * (train.length - positives)), train.length / (2 * positives)];

const w = new Float64Array(INJECTION_HASH_DIM);
let b = 0;
const m = new Float64Array(INJECTION_HASH_DIM);
const v = new Float64Array(INJECTION_HASH_DIM);
let mb = 0, vb = 0;
const used = [...new Set(xs.flatMap((x) => [...x.keys()]))];
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const g = new Float64Array(INJECTION_HASH_DIM);
  let gb = 0;
  for (let i = 0; i < xs.length; i++) {
    const p = 1 / (1 + Math.exp(-injectionLogit(xs[i]!, w, b)));
    const err = (p - ys[i]!) * classWeight[ys[i]!]! / xs.length;
    for (const [h, x] of xs[i]!) g[h]! += err * x;
    gb += err;
  }
  for (const h of used) {
    const grad = g[h]! + L2 * w[h]!;
    m[h] = 0.9 * m[h]! + 0.1 * grad;
    v[h] = 0.999 * v[h]! + 0.001 * grad * grad;
    w[h]! -= LEARNING_RATE * (m[h]! / (1 - 0.9 ** epoch)) / (Math.sqrt(v[h]! / (1 - 0.999 ** epoch)) + 1e-8);
  }
  mb = 0.9 * mb + 0.1 * gb;
  vb = 0.999 * vb + 0.001 * gb * gb;
  b -= LEARNING_RATE * (mb / (1 - 0.9 ** epoch)) / (Math.sqrt(vb / (1 - 0.999 ** epoch)) + 1e-8);
}

const index: number[] = [];
const weight: number[] = [];
for (const h of used.sort((a, b2) => a - b2)) {
  const rounded = Math.round(w[h]! * 1e4) / 1e4;
  if (rounded !== 0) { index.push(h); weight.push(rounded); }
}
const model: InjectionModel = {
  version: 'lr-hashed-ngrams-v1',
  trainedOn: `../shared/data/injection train side (${train.length} rows, ${positives} injections); test side ${test.length} rows held out`,
  dim: INJECTION_HASH_DIM, bias: Math.round(b * 1e4) / 1e4, index, weight,
};
writeFileSync(out, `${JSON.stringify(model)}\n`);

const score = (text: string) => 1 / (1 + Math.exp(-injectionLogit(injectionVector(text), w, b)));
let tp = 0, fp = 0, fn = 0;
for (const r of test) {
  const hit = score(r.text) >= 0.5;
  if (hit && r.label === 1) tp++;
  else if (hit) fp++;
  else if (r.label === 1) fn++;
}
const precision = tp / (tp + fp), recall = tp / (tp + fn);
console.log(`injection-model.json: ${index.length} weights; test (${test.length} rows): P ${precision.toFixed(3)} R ${recall.toFixed(3)} F1 ${(2 * precision * recall / (precision + recall)).toFixed(3)}`);
