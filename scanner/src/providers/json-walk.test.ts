import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScannerError } from '../errors.ts';
import { forEachString, MAX_JSON_DEPTH, mapStrings } from './json-walk.ts';

/** The strings of `v` in document order, the plain recursive way (safe at fast-check's depths). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}
const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}"deep"${']'.repeat(depth)}`);

describe('json-walk', () => {
  it('visits every string in document order, and maps them keeping the shape', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      const seen: string[] = [];
      expect(forEachString(v, (s) => seen.push(s))).toBe(true);
      expect(seen).toEqual(strings(v));
      const mapped = mapStrings(v, (s) => `<${s}>`);
      expect(strings(mapped)).toEqual(strings(v).map((s) => `<${s}>`));
      expect(JSON.stringify(mapStrings(v, (s) => s))).toBe(JSON.stringify(v));
    }), { numRuns: 300 });
  });

  it('stops at its depth bound instead of overflowing the stack on what JSON.parse accepts', () => {
    const deep = nested(200_000);
    expect(forEachString(deep, () => undefined)).toBe(false);
    try {
      mapStrings(deep, (s) => s);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScannerError);
      expect((err as ScannerError).code).toBe('JSON_TOO_DEEP');
    }
    // at the bound, everything is read
    const seen: string[] = [];
    expect(forEachString(nested(MAX_JSON_DEPTH), (s) => seen.push(s))).toBe(true);
    expect(seen).toEqual(['deep']);
    expect(strings(mapStrings(nested(MAX_JSON_DEPTH), (s) => s.toUpperCase()))).toEqual(['DEEP']);
  });
});
