import NAME_LISTS from './names-data.json' with { type: 'json' };

/** Where a person's name sits in the text. */
export interface NameSpan {
  start: number;
  end: number;
}

/** The shape of `names-data.json`, written by `evals/src/detectors/build-names.ts`. */
export interface NameLists {
  attribution: string;
  first: string[];
  last: string[];
}

const FIRST = new Set((NAME_LISTS as NameLists).first);
const LAST = new Set((NAME_LISTS as NameLists).last);

// Frequent English words that are also given names or surnames ("Will", "May",
// "Grant", "Young"): never a name on their own evidence.
export const COMMON_WORDS = new Set(`a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other
our ours out over own same she should so some such than that the their theirs them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yours yourself hello hi dear
thanks thank please regards best kind yes ok okay new old good great high low long short big small young grant will may june april
august march rose lily violet daisy ivy hope faith joy grace charity honor honour sunny summer autumn winter spring dawn eve
star art bill mark frank rich sue pat max ray page street road avenue lane way drive court park hill city town county state
north south east west center centre bank field wood woods stone brook banks lake river bay beach hall house king queen prince
duke earl lord baron major general chief price cash
guy buddy jack jean angel christian chance hunter paris london sydney victoria florida georgia virginia carolina dakota austin
dallas houston phoenix denver orlando jordan israel china india kenya chad asia america american english french german british
european african asian monday tuesday wednesday thursday friday saturday sunday january february july september october
november december today tomorrow yesterday morning evening night day week month year time mr mrs ms dr sir madam miss
customer client user admin support team manager director company office department service services account order payment
card number email phone address name first last full title note notes subject content question answer document documents
system assistant model summary summarise summarize retrieved section policy travel people handbook incident review
contact info personal website mobile desk fax home work brown green white black gray grey gold silver`.split(/\s+/));

// Words that introduce a person, as lower-case word sequences ending right before the name: "my name
// is …", "speak to …", "Dear …", "signed …", "says …". General English, not the phrasing of any data set.
const CUES = new Set(`name is|name was|name's|i am|i'm|this is|speak to|speak with|talk to|ask for|signed|sincerely|regards|dear|hi|hello
|written by|directed by|produced by|contact|thanks|meet|met|called|named|calls me|call me|says|said|told|according to|mr|mrs|ms|dr`
  .split('|').map((c) => c.trim()));
const CUE_LAST_WORDS = new Set([...CUES].map((c) => c.split(' ').at(-1)!));
const HONORIFICS = ['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'madam', 'dame', 'rev'];
const SUFFIXES = ['md', 'jr', 'sr', 'phd', 'dds', 'esq', 'iii', 'iv'];
const ORG_WORDS = new Set(['inc', 'llc', 'ltd', 'corp', 'co', 'company', 'group', 'bank', 'university', 'college', 'school', 'orchestra',
  'foundation', 'solutions', 'technologies', 'partners', 'associates', 'hospital', 'institute', 'gmbh', 'ag', 'sa', 'plc']);

const K_OTHER = 0, K_NAME = 1, K_INITIAL = 2, K_CAP = 3, K_HONORIFIC = 4, K_SUFFIX = 5;
// one lookup per token: honorific > suffix > frequent word > given name / surname
const LEXICON = new Map<string, number>();
for (const w of [...FIRST, ...LAST]) LEXICON.set(w, K_NAME);
for (const w of COMMON_WORDS) LEXICON.set(w, K_OTHER);
for (const w of SUFFIXES) LEXICON.set(w, K_SUFFIX);
for (const w of HONORIFICS) LEXICON.set(w, K_HONORIFIC);

// The lexicon, the given names, the organisation words and the last words of the cues as one
// open-addressing table keyed by FNV-1a of the lower-case word, so the tokeniser looks a token up
// from the hash it builds while reading it: no substring, no lower-casing, no Map lookup per token
// (those were 70 us of the 120 us the names pass took on a 4 KB prompt).
const F_FIRST = 1, F_ORG = 2, F_CUE_LAST = 4;
const LEX_WORDS: string[] = [...new Set([...LEXICON.keys(), ...FIRST, ...ORG_WORDS, ...CUE_LAST_WORDS])];
const LEX_TEXT = LEX_WORDS.join('');
const lexStart = new Int32Array(LEX_WORDS.length), lexLength = new Int32Array(LEX_WORDS.length);
// kind + 1 (0: not in the lexicon), then the F_* flags
const lexKind = new Int8Array(LEX_WORDS.length), lexFlags = new Uint8Array(LEX_WORDS.length);
const LEX_MASK = (1 << Math.ceil(Math.log2(LEX_WORDS.length * 2))) - 1;
// word index + 1 per slot, 0 empty
const lexSlots = new Int32Array(LEX_MASK + 1);
const FNV_OFFSET = 0x811c9dc5, FNV_PRIME = 0x01000193;
for (let w = 0, at = 0; w < LEX_WORDS.length; w++) {
  const word = LEX_WORDS[w]!;
  lexStart[w] = at;
  lexLength[w] = word.length;
  at += word.length;
  lexKind[w] = (LEXICON.get(word) ?? -1) + 1;
  lexFlags[w] = (FIRST.has(word) ? F_FIRST : 0) | (ORG_WORDS.has(word) ? F_ORG : 0) | (CUE_LAST_WORDS.has(word) ? F_CUE_LAST : 0);
  let h = FNV_OFFSET;
  for (let k = 0; k < word.length; k++) h = Math.imul(h ^ word.charCodeAt(k), FNV_PRIME);
  let slot = h & LEX_MASK;
  while (lexSlots[slot] !== 0) slot = (slot + 1) & LEX_MASK;
  lexSlots[slot] = w + 1;
}

// the lexicon entry of text[start, end) whose lower case (ASCII only: A-Z folded) hashes to `h`, or -1
function lexAscii(text: string, start: number, end: number, h: number): number {
  const len = end - start;
  for (let slot = h & LEX_MASK; ; slot = (slot + 1) & LEX_MASK) {
    const e = lexSlots[slot]!;
    if (e === 0) return -1;
    const w = e - 1;
    if (lexLength[w] !== len) continue;
    let k = 0;
    for (let off = lexStart[w]!; k < len; k++) {
      let c = text.charCodeAt(start + k);
      if (c >= 65 && c <= 90) c |= 32;
      if (c !== LEX_TEXT.charCodeAt(off + k)) break;
    }
    if (k === len) return w;
  }
}

// the lexicon entry of a lower-case word, or -1: the path of tokens with non-ASCII letters
function lexOf(lower: string): number {
  let h = FNV_OFFSET;
  for (let k = 0; k < lower.length; k++) h = Math.imul(h ^ lower.charCodeAt(k), FNV_PRIME);
  for (let slot = h & LEX_MASK; ; slot = (slot + 1) & LEX_MASK) {
    const e = lexSlots[slot]!;
    if (e === 0) return -1;
    const w = e - 1;
    if (lexLength[w] === lower.length && LEX_TEXT.startsWith(lower, lexStart[w]!)) return w;
  }
}

// BMP code unit -> 1 letter, 2 upper-case letter, 3 lower-case letter (0: not yet known, filled on first sight)
const LETTER = new Uint8Array(65536);
const IS_LETTER = /\p{L}/u, IS_UPPER = /\p{Lu}/u, IS_LOWER = /\p{Ll}/u;
function letterClass(c: number): number {
  let v = LETTER[c]!;
  if (v === 0) {
    const ch = String.fromCharCode(c);
    v = !IS_LETTER.test(ch) ? 4 : IS_UPPER.test(ch) ? 2 : IS_LOWER.test(ch) ? 3 : 1;
    LETTER[c] = v;
  }
  return v === 4 ? 0 : v;
}
for (let c = 0; c < 128; c++) letterClass(c);

// token scratch, reused by every call (detection is synchronous): start, end (a trailing '.' included),
// end of the word (without the '.'), kind, the F_* flags of its lexicon entry, hash of its lower case
let tStart = new Int32Array(1024), tEnd = new Int32Array(1024), tWordEnd = new Int32Array(1024), tKind = new Uint8Array(1024);
let tFlags = new Uint8Array(1024), tHash = new Int32Array(1024);
// 1 where token i is inside a name span found in this text: whether a token is taken is one read
// (scanning every span found per token, for lists and recurring words, was quadratic in the text)
let tTaken = new Uint8Array(1024);
let scanned = '';

// the lower case of token i, built only where a rule needs the word itself
function lowerOf(i: number): string {
  return scanned.slice(tStart[i]!, tWordEnd[i]!).toLowerCase();
}

// the lower-case words found in names so far, and their hashes: most tokens are ruled out by the hash
class FoundWords {
  readonly words = new Set<string>();
  readonly hashes = new Set<number>();
  add(token: number): void {
    this.words.add(lowerOf(token));
    this.hashes.add(tHash[token]!);
  }
}

/**
 * Finds person names: runs of up to four tokens with at least one given name
 * or surname from the shipped lists, joined by capitalised unknown words,
 * initials ("J.", "S") and suffixes ("Jr.", "MD"); a capitalised word counts
 * too after an honorific ("Dr. Okafor"), after a cue ("my name is …", "Dear …",
 * "says …"), before a middle initial ("Julieta S Almeida"), in a list with a
 * given name ("Gaetane, Hannah and Derek"), and wherever a word already found
 * as part of a name recurs in the text. Frequent English words never count as
 * names on their own evidence, and a run followed by an organisation word
 * ("… Inc.") is not a person. One pass over the text with a hand-written
 * tokeniser; linear in its length.
 */
export function detectNames(text: string): NameSpan[] {
  const n = tokenize(text);
  tTaken.fill(0, 0, n);
  const spans: NameSpan[] = [];
  let found: FoundWords | null = null;
  for (let i = 0; i < n; i++) {
    const kind = tKind[i]!;
    const cued = kind === K_CAP && (
      (i > 0 && tKind[i - 1] === K_HONORIFIC && adjacent(text, i - 1, i)) || cueBefore(text, i) ||
      // "Julieta S Almeida", "Janka M. Szász": capitalised, a middle initial, capitalised
      (i + 2 < n && tKind[i + 1] === K_INITIAL && tKind[i + 2] !== K_OTHER && tKind[i + 2] !== K_INITIAL && adjacent(text, i, i + 1) && adjacent(text, i + 1, i + 2)));
    if (kind !== K_NAME && !cued) continue;
    // extend left over capitalised words / initials directly before the first known name
    let from = i;
    while (from > 0 && from > i - 2 && (tKind[from - 1] === K_CAP || tKind[from - 1] === K_INITIAL) && adjacent(text, from - 1, from)) from--;
    let to = i;
    while (to + 1 < n && to - from < 3 && adjacent(text, to, to + 1) && continues(tKind[to + 1]!) && (tFlags[to + 1]! & F_ORG) === 0) to++;
    if (to + 1 < n && adjacent(text, to, to + 1) && (tFlags[to + 1]! & F_ORG) !== 0) {
      i = to;
      continue;
    }
    while (to > i && tKind[to] === K_INITIAL) to--;
    // a lone lower-case word is a name only when the text around it is lower case too ("lisa called")
    if (from === to && !cued && letterClass(text.charCodeAt(tStart[from]!)) !== 2 && (lowerOf(from).length < 3 || hasUpperNear(text, tStart[i]!, tEnd[i]!))) continue;
    const dot = text.charCodeAt(tEnd[to]! - 1) === 46 && tKind[to] !== K_INITIAL && tKind[to] !== K_SUFFIX;
    spans.push({ start: tStart[from]!, end: tEnd[to]! - (dot ? 1 : 0) });
    tTaken.fill(1, from, to + 1);
    for (let k = from; k <= to; k++) if (tKind[k] === K_NAME || tKind[k] === K_CAP) (found ??= new FoundWords()).add(k);
    i = to;
  }
  listed(text, n, spans, (k) => (found ??= new FoundWords()).add(k));
  if (found) recurring(text, n, spans, found);
  return spans.length > 1 ? spans.sort((a, b) => a.start - b.start) : spans;
}

function tokenize(text: string): number {
  scanned = text;
  let n = 0;
  const len = text.length;
  for (let i = 0; i < len;) {
    let c = text.charCodeAt(i);
    if (letterClass(c) === 0) {
      i++;
      continue;
    }
    const start = i;
    let h = FNV_OFFSET;
    let ascii = true;
    for (;;) {
      if (c >= 128) ascii = false;
      else if (c >= 65 && c <= 90) c |= 32;
      h = Math.imul(h ^ c, FNV_PRIME);
      if (++i === len) break;
      c = text.charCodeAt(i);
      if (!(c === 39 || c === 0x2019 || c === 45 || letterClass(c) !== 0)) break;
    }
    const wordEnd = i;
    // part of a host name, a path or an address ("TextFiction.de", "/Smith", "@jones"): never a name
    const embedded = (start > 0 && isEmbedding(text.charCodeAt(start - 1))) || (text.charCodeAt(i) === 46 && i + 1 < len && letterClass(text.charCodeAt(i + 1)) !== 0);
    if (i < len && text.charCodeAt(i) === 46) i++;
    if (n === tStart.length) grow();
    let w: number;
    if (ascii) {
      w = lexAscii(text, start, wordEnd, h);
    } else {
      // toLowerCase may change a non-ASCII word's length or letters beyond A-Z: hash its real lower case
      const lower = text.slice(start, wordEnd).toLowerCase();
      w = lexOf(lower);
      h = FNV_OFFSET;
      for (let k = 0; k < lower.length; k++) h = Math.imul(h ^ lower.charCodeAt(k), FNV_PRIME);
    }
    tStart[n] = start;
    tEnd[n] = i;
    tWordEnd[n] = wordEnd;
    tHash[n] = h;
    tFlags[n] = w < 0 ? 0 : lexFlags[w]!;
    tKind[n] = embedded ? K_OTHER : classify(text, start, wordEnd - start, w < 0 ? 0 : lexKind[w]!);
    n++;
  }
  return n;
}

function isEmbedding(c: number): boolean {
  return c === 46 || c === 47 || c === 64 || c === 95 || (c >= 48 && c <= 57);
}

function grow(): void {
  const size = tStart.length * 2;
  const s = new Int32Array(size), e = new Int32Array(size), we = new Int32Array(size), k = new Uint8Array(size);
  const f = new Uint8Array(size), h = new Int32Array(size);
  s.set(tStart); e.set(tEnd); we.set(tWordEnd); k.set(tKind); f.set(tFlags); h.set(tHash);
  tStart = s; tEnd = e; tWordEnd = we; tKind = k; tFlags = f; tHash = h;
  tTaken = new Uint8Array(size);
}

// `known`: the word's lexicon kind + 1, 0 when it is not in the lexicon
function classify(text: string, start: number, length: number, known: number): number {
  if (known === K_HONORIFIC + 1) return K_HONORIFIC;
  const first = letterClass(text.charCodeAt(start));
  if (length === 1) return first === 2 ? K_INITIAL : K_OTHER;
  if (known !== 0) return known - 1;
  return first === 2 && letterClass(text.charCodeAt(start + 1)) === 3 ? K_CAP : K_OTHER;
}

function continues(kind: number): boolean {
  return kind === K_NAME || kind === K_INITIAL || kind === K_CAP || kind === K_SUFFIX;
}

// one space (or a tab) between the tokens: a line break or punctuation ends a name
function adjacent(text: string, a: number, b: number): boolean {
  const gap = tStart[b]! - tEnd[a]!;
  if (gap === 1) {
    const c = text.charCodeAt(tEnd[a]!);
    return c === 32 || c === 9;
  }
  return gap === 0 && text.charCodeAt(tEnd[a]! - 1) === 46;
}

// the words right before token i form a cue, separated from it by spaces (a comma, colon or one line break allowed)
function cueBefore(text: string, i: number): boolean {
  if (i === 0 || (tFlags[i - 1]! & F_CUE_LAST) === 0) return false;
  let gap = 0;
  for (let p = tEnd[i - 1]!; p < tStart[i]!; p++) {
    const c = text.charCodeAt(p);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 44 && c !== 58 && c !== 46) return false;
    if (++gap > 6) return false;
  }
  let phrase = lowerOf(i - 1);
  if (CUES.has(phrase)) return true;
  for (let k = i - 2; k >= 0 && k >= i - 3; k--) {
    if (tStart[k + 1]! - tEnd[k]! !== 1) return false;
    phrase = `${lowerOf(k)} ${phrase}`;
    if (CUES.has(phrase)) return true;
  }
  return false;
}

function hasUpperNear(text: string, start: number, end: number): boolean {
  for (let p = Math.max(0, start - 40), stop = Math.min(text.length, end + 40); p < stop; p++) if (letterClass(text.charCodeAt(p)) === 2) return true;
  return false;
}

// Lists of single capitalised words ("Gaetane, Hannah, Anthony and Derek") in which one item is a known
// given name: the other items are names too.
function listed(text: string, n: number, spans: NameSpan[], add: (token: number) => void): void {
  for (let i = 0; i < n; i++) {
    if (!isItem(text, i, n)) continue;
    const items = [i];
    let j = i;
    for (;;) {
      const gap = j + 1 < n ? text.slice(tEnd[j]!, tStart[j + 1]!) : '';
      if (gap === ', ' && isItem(text, j + 1, n)) j += 1;
      else if ((gap === ' ' || gap === ', ') && lowerOf(j + 1) === 'and' && j + 2 < n && text.slice(tEnd[j + 1]!, tStart[j + 2]!) === ' ' && isItem(text, j + 2, n)) j += 2;
      else break;
      items.push(j);
    }
    if (items.length > 1 && items.some((k) => (tFlags[k]! & F_FIRST) !== 0)) {
      for (const k of items) {
        if (tTaken[k]) continue;
        spans.push({ start: tStart[k]!, end: tEnd[k]! - (text.charCodeAt(tEnd[k]! - 1) === 46 ? 1 : 0) });
        tTaken[k] = 1;
        add(k);
      }
    }
    i = j;
  }
}

// a list item: one capitalised word standing alone (no capitalised word right before or after it)
function isItem(text: string, i: number, n: number): boolean {
  const k = tKind[i];
  if (k !== K_NAME && k !== K_CAP) return false;
  if (letterClass(text.charCodeAt(tStart[i]!)) !== 2) return false;
  if (i + 1 < n && adjacent(text, i, i + 1) && (continues(tKind[i + 1]!) || (tFlags[i + 1]! & F_ORG) !== 0)) return false;
  return !(i > 0 && adjacent(text, i - 1, i) && (tKind[i - 1] === K_CAP || tKind[i - 1] === K_NAME));
}

// a capitalised word already found as (part of) a name is a name wherever else it stands
function recurring(text: string, n: number, spans: NameSpan[], found: FoundWords): void {
  for (let i = 0; i < n; i++) {
    if (tKind[i] !== K_CAP || !found.hashes.has(tHash[i]!)) continue;
    const lower = lowerOf(i);
    if (!found.words.has(lower) || lower.length < 3 || tTaken[i]) continue;
    spans.push({ start: tStart[i]!, end: tEnd[i]! - (text.charCodeAt(tEnd[i]! - 1) === 46 ? 1 : 0) });
    tTaken[i] = 1;
  }
}
