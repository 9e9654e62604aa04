import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireOrSkip } from '@higgs/evals/testing';
import { describe, expect, it } from 'vitest';
import { FAST_PATHS } from './hints.ts';
import { completePii, detectPii, detectStructuredPii } from './index.ts';

// ../shared/data beside the checkout: the labelled PII, secret and injection texts
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const run = requireOrSkip('DATA', existsSync(join(DATA, 'pii/presidio_synth.jsonl')) ? null : `${DATA} not found (the labelled evaluation data)`);

const shape = (ms: Iterable<RegExpExecArray | RegExpMatchArray>) => [...ms].map((m) => [m.index, ...m]);

describe.runIf(run)('fast paths on the labelled data', () => {
  it('find exactly what matchAll of the global pattern finds on every PII, secret and injection text; the full pass completed from the structured one is the full pass', () => {
    const files = ['pii/presidio_synth.jsonl', 'secrets/gitleaks_rule_cases.jsonl', ...readdirSync(join(DATA, 'injection')).map((f) => `injection/${f}`)];
    let texts = 0;
    for (const file of files) {
      for (const line of readFileSync(join(DATA, file), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const { text } = JSON.parse(line) as { text: string };
        texts++;
        for (const f of FAST_PATHS) expect(shape(f.matches(text)), `${f.name} in ${file}`).toEqual(shape(text.matchAll(f.global)));
        // the proxy's record pass: the full pass completed from the inline structured one is the full pass
        expect(completePii(text, detectStructuredPii(text)), `completePii in ${file}`).toEqual(detectPii(text));
      }
    }
    expect(texts).toBeGreaterThan(3000);
  }, 120_000);
});
