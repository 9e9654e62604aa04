import { describe, expect, it } from 'vitest';
import { LiteralAutomaton } from './aho-corasick.ts';

function all(ac: LiteralAutomaton, text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  ac.scan(text, (id, end) => out.push([id, end]));
  return out;
}

// every occurrence by brute force, the reference the automaton must agree with
function naive(literals: string[], text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const hay = text.toLowerCase();
  for (let end = 1; end <= text.length; end++) {
    literals.forEach((l, id) => {
      if (end >= l.length && hay.slice(end - l.length, end) === l.toLowerCase()) out.push([id, end]);
    });
  }
  return out;
}

describe('LiteralAutomaton', () => {
  it('finds overlapping and nested literals, case-insensitively, with end offsets in the original text', () => {
    const ac = new LiteralAutomaton(['he', 'she', 'his', 'hers']);
    expect(all(ac, 'uSHErs').sort()).toEqual([[0, 4], [1, 4], [3, 6]].sort());
    expect(ac.present('nothing here')).toEqual(new Set([0]));
  });

  it('agrees with a brute-force search on random texts over a small alphabet', () => {
    let seed = 7;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const word = (max: number): string => Array.from({ length: 1 + rand(max) }, () => 'abAB'[rand(4)]).join('');
    for (let round = 0; round < 50; round++) {
      const literals = Array.from({ length: 1 + rand(12) }, () => word(5));
      const text = word(60);
      const want = naive(literals, text).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      // the dense table and the sparse walk (automata too large for the table) must agree
      for (const maxDenseEntries of [undefined, 0]) {
        expect(all(new LiteralAutomaton(literals, { maxDenseEntries }), text).sort((a, b) => a[1] - b[1] || a[0] - b[0])).toEqual(want);
      }
    }
  });

  it('keeps offsets when a character folds to a different length, and folds non-ASCII letters', () => {
    for (const maxDenseEntries of [undefined, 0]) {
      const ac = new LiteralAutomaton(['straße', 'x'], { maxDenseEntries });
      expect(all(ac, 'İ STRASSE STRAẞE x')).toEqual([[0, 16], [1, 18]]);
    }
  });

  it('handles many literals in one pass', () => {
    const literals = Array.from({ length: 5000 }, (_, i) => `token-${i}-end`);
    const ac = new LiteralAutomaton(literals);
    expect([...ac.present('xx token-4321-end yy token-7-end token-99999-end')].sort((a, b) => a - b)).toEqual([7, 4321]);
  });
});
