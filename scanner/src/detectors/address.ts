import { digitRunsOf, FAST_PATHS, hintGroup, hintsOf, matchesAt, type HintGroup } from './hints.ts';

/** Where a street address sits in the text. */
export interface AddressSpan {
  start: number;
  end: number;
}

const NUM = String.raw`\d{1,6}[A-Za-z]?`;
const WORD = String.raw`[\p{L}][\p{L}'’.-]{0,30}`;
// street types written after the name: "2249 College Street", "12 Elm St."
const SUFFIX = String.raw`(?:street|st|avenue|ave|road|rd|way|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|sq|terrace|ter|parkway|pkwy|highway|hwy|circle|cir|trail|trl|crescent|close|row|route|walk|alley|plaza|loop|pike|expressway|freeway|grove|heights|gardens|mews|ridge|crossing|str)\b\.?`;
// street types written before the name: "26 rue des Lilas", "Via Pasquale Scura 127", "ul. Franciszkańska 12"
const PREFIX = String.raw`(?:rue|via|viale|calle|avenida|av\.|carrer|rua|rúa|ul\.|ulica|chemin|piazza|corso|largo|paseo|camino|travessa|praça|plac|aleja|al\.|boulevard|place)`;
// one-word street names ending in a street type: "Eskelundsvej 15", "Kiannonkatu 98", "Hauptstraße 5"
// (matched as "word number", then the word's ending is checked: one cheap pass instead of backtracking into every word)
const COMPOUND = /(?<![\p{L}\d])(?:\d{1,6}[ ])?(\p{L}{4,40})[ ]\d{1,6}[A-Za-z]?(?![\p{L}\d])/gu;
const COMPOUND_END = /(?:straße|strasse|weg|vej|veien|vei|vegen|gatan|gata|gade|katu|tie|laan|gasse|platz|allee|dijk|vägen|väg|utca|sokak|caddesi|plein|kuja|polku)$/i;
const UNIT = String.raw`(?:apt\.?|apartment|suite|ste\.?|unit|room|floor|fl\.)[ ]?#?[ ]?\d{1,5}[A-Za-z]?`;
const MILITARY = String.raw`(?:(?:PSC|CMR|Unit)[ ]\d{3,5},?[ ]Box[ ]\d{3,5}|(?:APO|DPO|FPO)[ ](?:AA|AE|AP)[ ]\d{5}|P\.?[ ]?O\.?[ ]Box[ ]\d{1,6})`;

const WORD_CAP = String.raw`\p{Lu}[\p{L}'’.-]{0,30}`;
// separate-word street types between name and number: "Trenerys gate 232", "Csabai kapu 39", "Piroska u. 97"
const INFIX = String.raw`(?:gate|gata|kapu|u\.|vei|vej|weg|straat|utca|út|tér|körút|sor|ulica|gasse|veien|vegen|katu|tie|st\.)`;

// Each pattern with the lower-case words one of which every match of it contains, each followed within
// a few characters by a digit when `digit` is set (see hints.ts): a pattern runs only when the text
// has one. A Unicode regex anchored at every word costs 30-130 us on a 4 KB prompt; the shared
// hint pass costs one table read per character.
// `number`: every match starts at a run of digits of which `number(length, next char)` holds; the
// pattern then runs (sticky) only there, not from every position.
interface Gated { re: RegExp; words: HintGroup | null; digit: boolean; orWords?: HintGroup; number?: (length: number, next: number) => boolean; sticky?: RegExp }
const PREFIX_WORDS = ['rue', 'via', 'viale', 'calle', 'avenida', 'av.', 'carrer', 'rua', 'rúa', 'ul.', 'ulica', 'chemin', 'piazza', 'corso', 'largo',
  'paseo', 'camino', 'travessa', 'praça', 'plac', 'aleja', 'al.', 'boulevard', 'place'];
const INFIX_WORDS = ['gate', 'gata', 'kapu', 'u.', 'vei', 'vej', 'weg', 'straat', 'utca', 'út', 'tér', 'körút', 'sor', 'ulica', 'gasse', 'veien', 'vegen',
  'katu', 'tie', 'st.'];
const PATTERNS: readonly Gated[] = [
  // postal code or house number, a capitalised street name, a house number: "20789 Allika 46", "172 Maneeži 75"
  {
    re: new RegExp(String.raw`(?<![\p{L}\d])\d{2,6}(?:[ ]${WORD_CAP}){1,3}[ ]${NUM}(?![\p{L}\d])`, 'gu'), words: null, digit: false,
    number: (length, next) => length >= 2 && length <= 6 && next === 32,
  },
  { re: new RegExp(String.raw`(?<![\p{L}\d])(?:${NUM}[ ])?(?:${WORD}[ ]){1,2}${INFIX}[ ]${NUM}\.?(?![\p{L}\d])`, 'giu'), words: hintGroup(INFIX_WORDS), digit: true },
  // "the corner of Dalbraut 99 and Frederikke Coves": to the end of the clause
  { re: /the corner of [^\n.,;!?]{3,60}(?: and [^\n.,;!?]{3,40})?/giu, words: hintGroup(['the corner of']), digit: false },
  {
    re: new RegExp(String.raw`(?<![\p{L}\d])(?:\d{1,6}[ ])?${NUM}(?:[ ]${WORD}){1,4}[ ]${SUFFIX}(?![\p{L}])`, 'giu'), words: null, digit: false,
    number: (length) => length <= 6,
  },
  { re: new RegExp(String.raw`(?<![\p{L}\d])(?:${NUM}[ ])?${PREFIX}(?:[ ]${WORD}){1,4}(?:[ ]${NUM})?(?![\p{L}\d])`, 'giu'), words: hintGroup(PREFIX_WORDS), digit: false },
  {
    re: new RegExp(String.raw`(?<![\p{L}\d])(?:${UNIT}|${MILITARY})(?![\p{L}\d])`, 'giu'),
    words: hintGroup(['apt', 'apartment', 'suite', 'ste', 'unit', 'room', 'floor', 'fl.', 'psc', 'cmr', 'box']), digit: true,
    orWords: hintGroup(['apo ', 'dpo ', 'fpo ']),
  },
];
for (const p of PATTERNS) if (p.number) p.sticky = new RegExp(p.re.source, `${p.re.flags.replace('g', '')}y`);
let starts = new Int32Array(256);
const COMPOUND_WORDS = hintGroup(['straße', 'strasse', 'weg', 'vej', 'veien', 'vei', 'vegen', 'gatan', 'gata', 'gade', 'katu', 'tie', 'laan', 'gasse', 'platz',
  'allee', 'dijk', 'vägen', 'väg', 'utca', 'sokak', 'caddesi', 'plein', 'kuja', 'polku']);
const CUE_WORDS = hintGroup(['address is', 'address:', 'addresses is', 'addresses:', 'lives at', 'live at', 'located at', 'is at', 'are at', 'sent to', 'ship to', 'deliver to', 'moved to', 'off at',
  'here they are:', 'it is']);
// After words that announce an address, a chunk that starts with a number, to the end of the line or sentence
const CUED = /\b(?:address(?:es)?(?: is|:)|addresses:|lives at|live at|located at|is at|are at|sent to|ship to|deliver to|moved to|off at|here they are:|it is)[ \t]{1,4}(\d{1,6}[ ][^\n.!?;]{3,80})/giu;
// A street-looking match must carry a house number: "College Street" alone is a name, not an address.
const HAS_NUMBER = /\d/;
// City / region / country / ZIP parts that follow the street on the same or the next line
const TAIL_PART = /[ \t]*,?[ \t]*(?:\n[ \t>?]*,?[ \t]*){0,2}((?:\p{Lu}[\p{L}'’.-]*|\d{4,6}|[A-Z]{2})(?:[ \t]+(?:\p{Lu}[\p{L}'’.-]*|\d{4,6}|de|del|la|le|des|du|van|von|da|di|am|an|upon))*)(?![\p{L}\d])/uy;
const MAX_GAP = /^[\s,]{0,4}$/;

/**
 * Finds street addresses: a house number with a street name and type in
 * English or European order, unit and military/PO box forms, extended over
 * the city / state / ZIP / country parts that follow. Heuristic; tuned for
 * precision first, so a bare city or ZIP on its own is not reported.
 */
export function detectAddresses(text: string): AddressSpan[] {
  const found: AddressSpan[] = [];
  if (!HAS_NUMBER.test(text)) return found;
  const hints = hintsOf(text);
  for (const p of PATTERNS) {
    if (p.words !== null && !(p.digit ? hints.beforeDigit(p.words) : hints.present(p.words)) && !(p.orWords !== undefined && hints.present(p.orWords))) continue;
    if (p.number) {
      fromNumbers(p, text, (m) => {
        if (HAS_NUMBER.test(m[0])) found.push({ start: m.index, end: m.index + m[0].length });
      });
      continue;
    }
    for (const m of text.matchAll(p.re)) {
      if (!HAS_NUMBER.test(m[0])) continue;
      found.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  if (hints.beforeDigit(COMPOUND_WORDS)) {
    for (const m of text.matchAll(COMPOUND)) {
      if (COMPOUND_END.test(m[1]!)) found.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  if (hints.beforeDigit(CUE_WORDS)) {
    for (const m of text.matchAll(CUED)) found.push({ start: m.index + m[0].length - m[1]!.length, end: m.index + m[0].length });
  }
  if (found.length === 0) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: AddressSpan[] = [];
  for (const s of found) {
    const last = merged.at(-1);
    if (last && (s.start <= last.end || MAX_GAP.test(text.slice(last.end, s.start)))) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  for (const s of merged) s.end = extendTail(text, s.end);
  return merged;
}

// the matches of a pattern whose every match starts at a run of digits, tried there only
function fromNumbers(p: Gated, text: string, onMatch: (m: RegExpExecArray) => void): void {
  const runs = digitRunsOf(text);
  if (starts.length < runs.count) starts = new Int32Array(runs.count);
  let n = 0;
  for (let r = 0; r < runs.count; r++) {
    const at = runs.start[r]!, length = runs.length[r]!;
    if (p.number!(length, text.charCodeAt(at + length))) starts[n++] = at;
  }
  matchesAt(p.sticky!, text, starts, n, onMatch);
}
PATTERNS.forEach((p, i) => {
  if (!p.number) return;
  FAST_PATHS.push({
    name: `address.${i}`, global: p.re,
    matches: (text) => {
      const out: RegExpExecArray[] = [];
      fromNumbers(p, text, (m) => out.push(m));
      return out;
    },
  });
});

function extendTail(text: string, end: number): number {
  for (let parts = 0; parts < 4; parts++) {
    TAIL_PART.lastIndex = end;
    const m = TAIL_PART.exec(text);
    if (!m || m[0].length > 60 || !/[,\n]|\d/.test(m[0])) return end;
    end = m.index + m[0].length;
  }
  return end;
}
