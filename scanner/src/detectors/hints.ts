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
  /**
   * Where the words of a group registered with `{ starts: true }` begin, ascending (a position may
   * repeat); a view valid until the next `hintsOf` with another text
   */
  starts(group: HintGroup): Int32Array;
}

/** A registered list of cue words. */
export type HintGroup = number & { readonly __hintGroup: unique symbol };

const words: string[] = [];
const groupOf: number[] = [];
// per group: whether its word starts are kept, and the buffer and count of them for the last text
const keepsStarts: boolean[] = [];
let startsOf: Int32Array[] = [];
let startCount = new Int32Array(0);
let automaton: LiteralAutomaton | null = null;
let groups = 0;

/**
 * Registers a list of cue words (at module load, before the first `hintsOf`); `starts` keeps where
 * each occurrence begins, for a detector that runs its pattern only there.
 */
export function hintGroup(list: readonly string[], opts: { starts?: boolean } = {}): HintGroup {
  if (automaton) throw new TypeError('hint groups are registered at module load, before the first scan');
  const g = groups++;
  keepsStarts.push(opts.starts === true);
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
  starts: (g) => {
    const list = startsOf[g]!.subarray(0, startCount[g]!);
    // the automaton reports by end position: a longer word that ends later may start earlier
    for (let i = 1; i < list.length; i++) {
      if (list[i - 1]! > list[i]!) {
        list.sort();
        break;
      }
    }
    return list;
  },
};

/** The cue words of every group in `text`: valid until the next call with another string. */
export function hintsOf(text: string): Hints {
  if (text === lastText) return result;
  automaton ??= new LiteralAutomaton(words);
  if (lastFlags.length !== groups) {
    lastFlags = new Uint8Array(groups);
    startCount = new Int32Array(groups);
    startsOf = keepsStarts.map((keep) => new Int32Array(keep ? 64 : 0));
  } else {
    lastFlags.fill(0);
    startCount.fill(0);
  }
  const flags = lastFlags;
  automaton.scan(text, (id, end) => {
    const g = groupOf[id]!;
    flags[g]! |= PRESENT;
    if (keepsStarts[g]) keepStart(g, end - words[id]!.length);
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

function keepStart(g: number, at: number): void {
  let list = startsOf[g]!;
  const n = startCount[g]!;
  if (n === list.length) {
    list = new Int32Array(n * 2);
    list.set(startsOf[g]!);
    startsOf[g] = list;
  }
  list[n] = at;
  startCount[g] = n + 1;
}

/** The maximal runs of ASCII digits in a text: where each starts and how long it is. */
export interface DigitRuns {
  count: number;
  start: Int32Array;
  length: Int32Array;
}

let runsText: string | null = null;
const runs: DigitRuns = { count: 0, start: new Int32Array(256), length: new Int32Array(256) };

/**
 * The digit runs of `text`, found once per text like the hints: the PII patterns that start at a
 * number run only at those (valid until the next call with another string).
 */
export function digitRunsOf(text: string): DigitRuns {
  if (text === runsText) return runs;
  let count = 0;
  // the regex finds each run's last digit natively: 2.4x faster than reading every code unit in JS
  DIGITS.lastIndex = 0;
  while (DIGITS.test(text)) {
    const end = DIGITS.lastIndex;
    let start = end - 1;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    if (count === runs.start.length) {
      const s = new Int32Array(count * 2), l = new Int32Array(count * 2);
      s.set(runs.start); l.set(runs.length);
      runs.start = s; runs.length = l;
    }
    runs.start[count] = start;
    runs.length[count] = end - start;
    count++;
  }
  runs.count = count;
  runsText = text;
  return runs;
}

const DIGITS = /[0-9]+/g;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * The matches of the global or sticky pattern `sticky` (it must be sticky) that `text.matchAll`
 * would find, when every match starts at one of `candidates` (ascending; repeats allowed): tried
 * there only, and after a match from its end on, as `matchAll` does.
 */
export function matchesAt(sticky: RegExp, text: string, candidates: ArrayLike<number>, count: number, onMatch: (m: RegExpExecArray) => void): void {
  let after = 0;
  for (let k = 0; k < count; k++) {
    const at = candidates[k]!;
    if (at < after) continue;
    sticky.lastIndex = at;
    const m = sticky.exec(text);
    if (m === null) continue;
    after = at + m[0].length;
    onMatch(m);
  }
}

/**
 * A pattern the detectors run only from candidate positions or behind a gate, instead of from every
 * position: `matches` must return what `text.matchAll(global)` returns. Registered at module load
 * so one test (fast-paths.test.ts) holds every fast path to its pattern's own semantics.
 */
export interface FastPath {
  name: string;
  global: RegExp;
  matches(text: string): RegExpExecArray[];
}

/** Every registered fast path (for the equivalence test; not part of the package API). */
export const FAST_PATHS: FastPath[] = [];
