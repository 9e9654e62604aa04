import { isTestGroup, readJsonlDir, type InjectionRow } from './data.ts';

export const INJECTION_SPLIT = { salt: 'higgs-injection-v1', testShare: 0.3 } as const;

// The data README's grouping: the first 8 normalised words, so near-duplicate
// templates stay on one side; BIPIA rows group by their clean e-mail, so an
// e-mail's clean and injected versions stay together.
function groupKey(row: InjectionRow): string {
  let text = row.text;
  const span = row.injected_span;
  if (span) {
    const [start, end] = Array.isArray(span) ? span : [span.start, span.end];
    text = text.slice(0, start) + text.slice(end);
  }
  return `${row.source}|${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim().split(' ').slice(0, 8).join(' ')}`;
}

/** All injection rows of ../shared/data, divided into train and test by group. */
export function loadInjectionSplit(): { train: InjectionRow[]; test: InjectionRow[] } {
  const train: InjectionRow[] = [];
  const test: InjectionRow[] = [];
  for (const row of readJsonlDir<InjectionRow>('injection')) {
    (isTestGroup(INJECTION_SPLIT.salt, groupKey(row), INJECTION_SPLIT.testShare) ? test : train).push(row);
  }
  return { train, test };
}
