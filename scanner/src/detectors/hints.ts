import { LiteralAutomaton } from '../rules/aho-corasick.ts';

/**
 * The cue words the slower detectors need before they run a regex (injection
 * keyword features, street-address forms), found in one case-insensitive
 * Aho-Corasick pass over the text. Each group is a list of lower-case words;
 * `present(group)` says whether one occurs, `beforeDigit(group)` whether one
 * is followed by a digit within a few separator characters (space, tab, `.`,
 * `#`, `:`, `,`). A pass costs one table read per code unit; calling
 * `hintsOf` again with the same string reuses the last pass, so the detectors
 * that run on one prompt share it.
 */
export interface Hints {
  present(group: HintGroup): boolean;
  beforeDigit(group: HintGroup): boolean;
}

/** A registered list of cue words. */
export type HintGroup = number & { readonly __hintGroup: unique symbol };

const words: string[] = [];
const groupOf: number[] = [];
let automaton: LiteralAutomaton | null = null;
let groups = 0;

/** Registers a list of cue words (at module load, before the first `hintsOf`). */
export function hintGroup(list: readonly string[]): HintGroup {
  if (automaton) throw new TypeError('hint groups are registered at module load, before the first scan');
  const g = groups++;
  for (const w of list) {
    words.push(w);
    groupOf.push(g);
  }
  return g as HintGroup;
}

let lastText: string | null = null;
let lastFlags = new Uint8Array(0);
const PRESENT = 1, BEFORE_DIGIT = 2;
const result: Hints = {
  present: (g) => (lastFlags[g]! & PRESENT) !== 0,
  beforeDigit: (g) => (lastFlags[g]! & BEFORE_DIGIT) !== 0,
};

/** The cue words of every group in `text`: valid until the next call with another string. */
export function hintsOf(text: string): Hints {
  if (text === lastText) return result;
  automaton ??= new LiteralAutomaton(words);
  if (lastFlags.length !== groups) lastFlags = new Uint8Array(groups);
  else lastFlags.fill(0);
  const flags = lastFlags;
  automaton.scan(text, (id, end) => {
    const g = groupOf[id]!;
    flags[g]! |= PRESENT;
    if (flags[g]! & BEFORE_DIGIT) return;
    for (let p = end, stop = Math.min(text.length, end + 6); p < stop; p++) {
      const c = text.charCodeAt(p);
      if (c >= 48 && c <= 57) {
        flags[g]! |= BEFORE_DIGIT;
        return;
      }
      if (c !== 32 && c !== 9 && c !== 46 && c !== 35 && c !== 58 && c !== 44) return;
    }
  });
  lastText = text;
  return result;
}
