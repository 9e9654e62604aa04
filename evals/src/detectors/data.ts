import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/data, beside the repository checkout. */
export const DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');

/** Why the detector evals cannot run here, or null when they can. */
export function dataMissing(): string | null {
  return existsSync(join(DATA_DIR, 'pii/presidio_synth.jsonl')) ? null : `${DATA_DIR} not found (the labelled evaluation data)`;
}

export function readJsonl<T>(relPath: string): T[] {
  return readFileSync(join(DATA_DIR, relPath), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

export function readJsonlDir<T>(relDir: string): T[] {
  return readdirSync(join(DATA_DIR, relDir)).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) => readJsonl<T>(join(relDir, f)));
}

/**
 * Deterministic grouped split: a group goes to the test side when the first
 * 32 bits of sha256(salt|key) fall under `testShare`. Rows of one group never
 * straddle train and test.
 */
export function isTestGroup(salt: string, key: string, testShare: number): boolean {
  const h = createHash('sha256').update(`${salt}|${key}`).digest().readUInt32BE(0);
  return h / 0x1_0000_0000 < testShare;
}

export interface PiiRow { text: string; spans: { start: number; end: number; type: string }[]; template_id: number }
export interface SecretRow { text: string; label: 0 | 1; rule_id: string; spans: { start: number; end: number }[] | null }
export interface InjectionRow { text: string; label: 0 | 1; source: string; category: string; injected_span?: [number, number] | { start: number; end: number } | null }

/** PII rows whose names may seed the shipped name lists; the others are the test side for names. */
export const PII_SPLIT = { salt: 'higgs-pii-names-v1', testShare: 0.5 } as const;
