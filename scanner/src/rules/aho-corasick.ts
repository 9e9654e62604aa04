/**
 * A case-insensitive Aho-Corasick automaton over UTF-16 code units: every
 * literal of every rule is found in one pass over the text, whatever the
 * number of literals (Aho & Corasick 1975). Case folding is per code unit
 * (`toLowerCase` when it keeps the length), so match offsets are offsets in
 * the original text and a match can be cut out or replaced in place.
 *
 * @example
 * const ac = new LiteralAutomaton(['secret', 'Forward the']);
 * ac.scan('please FORWARD THE secret', (id, end) => console.log(id, end)); // 1 18, 0 25
 */
export class LiteralAutomaton {
  /** length of each literal, by id */
  readonly lengths: readonly number[];
  // state 0 is the root; its transitions are dense because most steps of a scan return to it
  private readonly rootNext = new Int32Array(65536);
  // while building: sparse transitions per state; then flattened into the typed arrays below
  private next: Array<Map<number, number> | null> = [null];
  private readonly fail: number[] = [0];
  // literal ids ending at a state, failure-chain outputs included
  private readonly out: Array<readonly number[] | null> = [null];
  private hasOut = new Uint8Array(0);
  // a state's edges are edgeChar/edgeTo[edgeStart[s] .. edgeStart[s + 1]): most states have one
  private edgeStart = new Int32Array(1);
  private edgeChar = new Uint16Array(0);
  private edgeTo = new Int32Array(0);
  private built = false;
  // The dense form, when it fits: every text code unit maps to a class (0 = in no literal) and
  // `delta[state * width + class]` is the next state with the failure links already followed,
  // so a scan costs one table read per code unit. Entries hold the next state's row offset
  // (state * width), bitwise-negated when literals end in that state.
  private classOf: Uint16Array | null = null;
  private delta: Int32Array | null = null;
  private width = 0;

  /** `maxDenseEntries`: the largest dense table (states × alphabet) to build; above it scans walk the sparse edges */
  constructor(literals: readonly string[], opts: { maxDenseEntries?: number } = {}) {
    this.lengths = literals.map((l) => l.length);
    const outSets: number[][] = [[]];
    literals.forEach((literal, id) => {
      if (literal.length === 0) return; // an empty literal would match everywhere; the schema forbids it
      let state = 0;
      for (let i = 0; i < literal.length; i++) {
        const c = fold(literal.charCodeAt(i));
        let to = this.step(state, c);
        if (to === 0) {
          to = this.fail.length;
          this.fail.push(0);
          this.next.push(null);
          this.out.push(null);
          outSets.push([]);
          if (state === 0) this.rootNext[c] = to;
          else (this.next[state] ??= new Map()).set(c, to);
        }
        state = to;
      }
      outSets[state]!.push(id);
    });
    // breadth-first: a state's failure link points to the longest proper suffix that is also a prefix
    const queue: number[] = [];
    for (let c = 0; c < 65536; c++) {
      const s = this.rootNext[c]!;
      if (s !== 0) queue.push(s);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const state = queue[qi]!;
      const fromFail = outSets[this.fail[state]!]!;
      if (fromFail.length > 0) outSets[state]!.push(...fromFail);
      const edges = this.next[state];
      if (!edges) continue;
      for (const [c, to] of edges) {
        let f = this.fail[state]!;
        while (f !== 0 && this.step(f, c) === 0) f = this.fail[f]!;
        const target = this.step(f, c);
        this.fail[to] = target === to ? 0 : target;
        queue.push(to);
      }
    }
    for (let s = 0; s < outSets.length; s++) if (outSets[s]!.length > 0) this.out[s] = outSets[s]!;
    this.flatten();
    this.densify(queue, opts.maxDenseEntries ?? DENSE_MAX_ENTRIES);
  }

  // `order`: every state but the root, breadth first, so a state's failure target is done before it
  private densify(order: readonly number[], maxEntries: number): void {
    const folded = new Int32Array(65536).fill(-1);
    let classes = 1;
    for (let c = 0; c < 65536; c++) if (this.rootNext[c] !== 0 && folded[c] === -1) folded[c] = classes++;
    for (let e = 0; e < this.edgeChar.length; e++) if (folded[this.edgeChar[e]!] === -1) folded[this.edgeChar[e]!] = classes++;
    const states = this.fail.length;
    if (classes > 65535 || states * classes > maxEntries) return;
    const classOf = new Uint16Array(65536);
    for (let c = 0; c < 65536; c++) classOf[c] = Math.max(0, folded[FOLD[c]!]!);
    const width = classes;
    const delta = new Int32Array(states * width);
    for (let c = 0; c < 65536; c++) if (this.rootNext[c] !== 0) delta[folded[c]!] = this.rootNext[c]!;
    for (const s of order) {
      const row = s * width;
      delta.copyWithin(row, this.fail[s]! * width, this.fail[s]! * width + width);
      for (let e = this.edgeStart[s]!, end = this.edgeStart[s + 1]!; e < end; e++) delta[row + folded[this.edgeChar[e]!]!] = this.edgeTo[e]!;
    }
    for (let i = 0; i < delta.length; i++) {
      const to = delta[i]!;
      delta[i] = this.hasOut[to] === 1 ? ~(to * width) : to * width;
    }
    this.classOf = classOf;
    this.delta = delta;
    this.width = width;
  }

  private flatten(): void {
    const states = this.fail.length;
    let edges = 0;
    for (const m of this.next) edges += m?.size ?? 0;
    this.edgeStart = new Int32Array(states + 1);
    this.edgeChar = new Uint16Array(edges);
    this.edgeTo = new Int32Array(edges);
    this.hasOut = new Uint8Array(states);
    let at = 0;
    for (let s = 0; s < states; s++) {
      this.edgeStart[s] = at;
      if (this.out[s]) this.hasOut[s] = 1;
      const m = this.next[s];
      if (m) for (const [c, to] of m) {
        this.edgeChar[at] = c;
        this.edgeTo[at] = to;
        at += 1;
      }
    }
    this.edgeStart[states] = at;
    this.next = [];
    this.built = true;
  }

  /** number of literals the automaton was built from */
  get size(): number {
    return this.lengths.length;
  }

  /** Calls `onMatch(id, end)` for every occurrence of every literal, `end` exclusive, in order of `end`. */
  scan(text: string, onMatch: (id: number, end: number) => void): void {
    const { delta, classOf, width } = this;
    if (delta && classOf) {
      let row = 0;
      for (let i = 0; i < text.length; i++) {
        const next = delta[row + classOf[text.charCodeAt(i)]!]!;
        if (next >= 0) {
          row = next;
          continue;
        }
        row = ~next;
        for (const id of this.out[row / width]!) onMatch(id, i + 1);
      }
      return;
    }
    this.scanSparse(text, onMatch);
  }

  // the same walk over the sparse edges and failure links, for automata too large for the dense table
  private scanSparse(text: string, onMatch: (id: number, end: number) => void): void {
    const { rootNext, edgeStart, edgeChar, edgeTo, fail, hasOut } = this;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const c = FOLD[text.charCodeAt(i)]!;
      let to = 0;
      for (;;) {
        if (state === 0) {
          to = rootNext[c]!;
          break;
        }
        for (let e = edgeStart[state]!, end = edgeStart[state + 1]!; e < end; e++) {
          if (edgeChar[e] === c) {
            to = edgeTo[e]!;
            break;
          }
        }
        if (to !== 0) break;
        state = fail[state]!;
      }
      state = to;
      if (hasOut[state] === 1) for (const id of this.out[state]!) onMatch(id, i + 1);
    }
  }

  /** The ids of the literals that occur in `text` at least once. */
  present(text: string): Set<number> {
    const found = new Set<number>();
    this.scan(text, (id) => found.add(id));
    return found;
  }

  // build-time transition lookup (scan uses the flattened arrays)
  private step(state: number, c: number): number {
    if (state === 0) return this.rootNext[c]!;
    if (this.built) throw new Error('step() is for building');
    return this.next[state]?.get(c) ?? 0;
  }
}

// 4 Mi entries (16 MiB): about 100 000 states over a 40-character alphabet; larger automata scan sparse
const DENSE_MAX_ENTRIES = 1 << 22;

const FOLD = new Uint16Array(65536);
for (let c = 0; c < 65536; c++) {
  const lower = String.fromCharCode(c).toLowerCase();
  // only same-length folds: a fold that changes length ('İ' -> 'i̇') would shift every offset after it
  FOLD[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
}

function fold(c: number): number {
  return FOLD[c]!;
}
