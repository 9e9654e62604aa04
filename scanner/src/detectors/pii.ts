import { isIPv4, isIPv6 } from 'node:net';
import type { PiiType } from '@higgs/schema';
import { detectAddresses } from './address.ts';
import { digitRunsOf, FAST_PATHS, hintGroup, hintsOf, matchesAt, type DigitRuns } from './hints.ts';
import { detectNames } from './names.ts';
import { detectSecrets } from './secrets.ts';

/** One detected value: its type, where it sits in the text, and its canonical form (for hashing only). */
export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
  /** digits only for numbers, lower case for e-mail; held in memory, never stored */
  canonical: string;
  /** the finer kind within `type`, e.g. `aws_access_key` for a secret or `uk_nino` for a national id */
  kind?: string;
}

// the domain after an '@' (the local part is found by walking back from the '@': a regex anchored
// at every word start cost 70 us on a 4 KB prompt)
const EMAIL_DOMAIN = /(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/y;
// 13–19 digits, optionally grouped by single spaces or dashes
const CARD = /(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])/g;
const SSN_DASHED = /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/g;
const SSN_PLAIN = /(?<![\d-])(\d{3})[ ]?(\d{2})[ ]?(\d{4})(?![\d-])/g;
// "SSN", "social security (number)", "soc. sec." within a few words before the number
const SSN_CONTEXT = /\b(?:ssn|ssns|social\s+security(?:\s+(?:number|no\.?|#))?|soc\.?\s*sec\.?)\b[^\n\d]{0,24}$/i;
// NANP: optional +1, area and exchange codes start 2–9; at least one separator, parentheses or the +1 prefix
const NANP = /(?<![\w+])(?:(\+1)[ .-]?)?(\()?([2-9]\d{2})(\))?([ .-]?)([2-9]\d{2})([ .-]?)(\d{4})(?![\d-])/g;
// international: +CC then groups of digits; total 8–15 digits (E.164)
// (a flat character class keeps matching linear in the input length)
const INTL = /(?<![\w+])\+[1-9][\d .()-]{6,22}\d(?!\d)/g;
// words that announce a phone number; the number itself may then be in any national format
const PHONE_CUE = /\b(?:phone(?: number)?|tel|telephone|mobile|cell|fax|desk|call|calling|call me at|reach(?: me| us)?(?: at| on)?|ring|dial|whatsapp|sms|text me|contact number|answering at|messages to)\b/gi;
// a number followed by its label: "082 490 1693-Office", "930.167.3943 fax"
const LABELLED_PHONE = /(?<![\w+.-])(\+?(?:\(\d{1,4}\)|\d)[\d .()/-]{4,22}\d)[ -]?(?:office|fax|mobile|home|work|cell)\b/gi;
// card numbers after a card cue may be 12–19 digits of any network (Maestro, private label)
const CARD_CUE = /\b(?:card|cc|visa|mastercard|amex|maestro)\b[^\n\d]{0,24}$/i;
// after the cue: up to a few non-digit characters (": ", " at ", a newline), then digit groups
const CUED_PHONE = /[^\d+(\n]{0,16}\n?[ \t]{0,4}(\+?(?:\(\d{1,4}\)|\d)[\d .()/-]{4,22}\d(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?)(?![\d])/y;
// IBAN: country, check digits, then the BBAN, optionally in groups of four
const IBAN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])/g;
const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;
const IPV6 = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])/g;
const IPV4_CHARS = /\d\.\d/;
// the words every SSN_CONTEXT match, every LABELLED_PHONE match and every PHONE_CUE match contains
// (the last with where they start: the cue pattern runs there only)
const SSN_HINTS = hintGroup(['ssn', 'soc']);
const PHONE_LABEL_HINTS = hintGroup(['office', 'fax', 'mobile', 'home', 'work', 'cell']);
const PHONE_CUE_STARTS = hintGroup(['phone', 'tel', 'mobile', 'cell', 'fax', 'desk', 'call', 'reach', 'ring', 'dial', 'whatsapp', 'sms', 'text me',
  'contact number', 'answering at', 'messages to'], { starts: true });
// UK National Insurance number: prefix letters from HMRC's allowed set, six digits, suffix A–D
const UK_NINO = /\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g;
// Spanish DNI (8 digits + check letter) and NIE (X/Y/Z + 7 digits + check letter)
const ES_ID = /\b([XYZ]?)(\d{7,8})-?([A-Z])\b/g;

// The patterns above that start at or just before a number run only where a run of digits could
// begin a match (see `candidates`), sticky, instead of from every position of the text: each
// scan cost 3-10 us on a 4 KB prompt. `matchesAt` returns what `matchAll` of the global pattern
// returns; pii.test.ts checks that on every labelled text and on fuzz strings.
const sticky = (re: RegExp) => new RegExp(re.source, `${re.flags.replace('g', '')}y`);
const CARD_Y = sticky(CARD), SSN_DASHED_Y = sticky(SSN_DASHED), SSN_PLAIN_Y = sticky(SSN_PLAIN), NANP_Y = sticky(NANP), INTL_Y = sticky(INTL);
const IBAN_Y = sticky(IBAN), IPV4_Y = sticky(IPV4), UK_NINO_Y = sticky(UK_NINO), ES_ID_Y = sticky(ES_ID), PHONE_CUE_Y = sticky(PHONE_CUE);

const NUMBER_PATTERNS = {
  card: [CARD, CARD_Y], ssn_dashed: [SSN_DASHED, SSN_DASHED_Y], ssn_plain: [SSN_PLAIN, SSN_PLAIN_Y], nanp: [NANP, NANP_Y], intl: [INTL, INTL_Y],
  iban: [IBAN, IBAN_Y], ipv4: [IPV4, IPV4_Y], uk_nino: [UK_NINO, UK_NINO_Y], es_id: [ES_ID, ES_ID_Y],
} as const satisfies Record<string, readonly [RegExp, RegExp]>;
type NumberPattern = keyof typeof NUMBER_PATTERNS;

let cand = new Int32Array(256);
let candCount = 0;
function push(at: number): void {
  if (candCount === cand.length) {
    const grown = new Int32Array(candCount * 2);
    grown.set(cand);
    cand = grown;
  }
  cand[candCount++] = at;
}

// digits in the runs r, r+1, … joined by exactly one separator from `seps` (char codes)
function chainDigits(text: string, runs: DigitRuns, r: number, sep1: number, sep2: number): number {
  let total = runs.length[r]!;
  for (let j = r; j + 1 < runs.count; j++) {
    const end = runs.start[j]! + runs.length[j]!;
    const c = text.charCodeAt(end);
    if (runs.start[j + 1] !== end + 1 || (c !== sep1 && c !== sep2)) break;
    total += runs.length[j + 1]!;
  }
  return total;
}

// digits in text[from, to)
function digitsIn(runs: DigitRuns, r: number, to: number): number {
  let total = 0;
  for (let j = r; j < runs.count && runs.start[j]! < to; j++) total += Math.min(runs.start[j]! + runs.length[j]!, to) - runs.start[j]!;
  return total;
}

const isUpper = (c: number) => c >= 65 && c <= 90;
const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * Where a match of the number pattern `p` may start, ascending, into the shared candidate buffer;
 * each condition is implied by the pattern (a match of CARD holds 12+ digits joined by single
 * spaces or dashes, and starts at a digit that no digit precedes, …), so no match is skipped.
 */
function candidates(p: NumberPattern, text: string, runs: DigitRuns): number {
  candCount = 0;
  for (let r = 0; r < runs.count; r++) {
    const d = runs.start[r]!, len = runs.length[r]!, next = text.charCodeAt(d + len), prev = d > 0 ? text.charCodeAt(d - 1) : 0;
    switch (p) {
      case 'card': if (chainDigits(text, runs, r, 32, 45) >= 12) push(d); break;
      case 'ssn_dashed': if (len === 3 && next === 45) push(d); break;
      case 'ssn_plain': if (chainDigits(text, runs, r, 32, 32) >= 9) push(d); break;
      // at most 16 characters from the first digit ("1 (415) 555-0199") hold the 10 or 11 digits
      case 'nanp':
        if (digitsIn(runs, r, d + 16) >= 10) {
          if (prev === 40 || prev === 43) push(d - 1);
          push(d);
        }
        break;
      case 'intl': if (prev === 43 && text.charCodeAt(d) !== 48) push(d - 1); break;
      case 'iban': if (len >= 2 && d >= 2 && isAsciiLetter(prev) && isAsciiLetter(text.charCodeAt(d - 2))) push(d - 2); break;
      case 'ipv4': if (len <= 3 && next === 46) push(d); break;
      // two capital letters, an optional space, then 6 digits in groups joined by single spaces
      case 'uk_nino':
        if (chainDigits(text, runs, r, 32, 32) < 6) break;
        if (prev === 32 && d >= 3 && isUpper(text.charCodeAt(d - 2)) && isUpper(text.charCodeAt(d - 3))) push(d - 3);
        else if (d >= 2 && isUpper(prev) && isUpper(text.charCodeAt(d - 2))) push(d - 2);
        break;
      case 'es_id': if (len === 7 || len === 8) push(prev === 88 || prev === 89 || prev === 90 ? d - 1 : d); break;
    }
  }
  return candCount;
}

// the matches of number pattern `p` in `text`: those `text.matchAll` of its global form finds
function numberMatches(p: NumberPattern, text: string, onMatch: (m: RegExpExecArray) => void): void {
  const n = candidates(p, text, digitRunsOf(text));
  if (n > 0) matchesAt(NUMBER_PATTERNS[p][1], text, cand, n, onMatch);
}

// the phone cue words, tried only where the hint pass saw one begin
function phoneCues(text: string, onMatch: (m: RegExpExecArray) => void): void {
  const cues = hintsOf(text).starts(PHONE_CUE_STARTS);
  matchesAt(PHONE_CUE_Y, text, cues, cues.length, onMatch);
}

function collect(run: (text: string, onMatch: (m: RegExpExecArray) => void) => void): (text: string) => RegExpExecArray[] {
  return (text) => {
    const out: RegExpExecArray[] = [];
    run(text, (m) => out.push(m));
    return out;
  };
}
for (const name of Object.keys(NUMBER_PATTERNS) as NumberPattern[]) {
  FAST_PATHS.push({ name: `pii.${name}`, global: NUMBER_PATTERNS[name][0], matches: collect((text, on) => numberMatches(name, text, on)) });
}
FAST_PATHS.push({ name: 'pii.phone_cue', global: PHONE_CUE, matches: collect(phoneCues) });
FAST_PATHS.push({
  name: 'pii.labelled_phone', global: LABELLED_PHONE,
  matches: (text) => (hintsOf(text).present(PHONE_LABEL_HINTS) ? [...text.matchAll(LABELLED_PHONE)] : []),
});

/**
 * Finds PII and secrets in `text`: e-mail, secrets (see `detectSecrets`),
 * IBANs (country length + mod-97), payment cards (Luhn, card-network prefix),
 * US SSNs (SSA rules), UK NINO and Spanish DNI/NIE (check letter), IPv4/IPv6,
 * phone numbers (formatted, international, or any national format after a cue
 * word), street addresses and person names. Validation keeps random digit runs
 * out. Spans never overlap; when two detectors claim the same characters the
 * earlier, more specific one in that list wins.
 *
 * @example detectPii('mail bob@example.com') // [{ type: 'email', start: 5, end: 20, canonical: 'bob@example.com' }]
 */
export function detectPii(text: string): PiiSpan[] {
  return completePii(text, structured(text));
}

/**
 * `detectPii(text)` for a caller that already has `detectStructuredPii(text)`:
 * adds the street addresses and person names only, with the same overlap
 * rule, so the result is the same spans. The proxy decides on the cheap pass
 * and masks the record with the full one; this keeps that from running the
 * validated types twice.
 */
export function completePii(text: string, structuredSpans: readonly PiiSpan[]): PiiSpan[] {
  const spans = [...structuredSpans];
  const take = taker(spans, text.length);
  for (const a of detectAddresses(text)) take({ type: 'address', start: a.start, end: a.end, canonical: text.slice(a.start, a.end).toLowerCase().replace(/\s+/g, ' ') });
  for (const n of detectNames(text)) take({ type: 'person', start: n.start, end: n.end, canonical: text.slice(n.start, n.end).toLowerCase() });
  return spans.sort((a, b) => a.start - b.start);
}

/**
 * The cheap pass of `detectPii`: every validated type (e-mail, secrets, IBAN,
 * card, SSN, national ids, IP, phone) and no street addresses or person names,
 * which cost most of the time. For a caller that must decide fast and can
 * leave the names and addresses to a later, off-path pass (the proxy on
 * enforce traffic no rule of which needs them); the spans are exactly those
 * `detectPii` reports for these types.
 */
export function detectStructuredPii(text: string): PiiSpan[] {
  return structured(text).sort((a, b) => a.start - b.start);
}

/**
 * Adds a span to `spans` unless it overlaps one there (the first claim wins). Which characters are
 * held is kept per character, so a check reads the new span's own characters only: linear in the
 * text, where comparing with every span taken was quadratic (1.5 s on a 1 MB prompt dense with PII,
 * 50 s on 8 MB, all of it on the proxy's event loop). Allocated on the first span.
 */
function taker(spans: PiiSpan[], length: number): (span: PiiSpan) => void {
  let held: Uint8Array | null = null;
  return (span) => {
    if (held === null) {
      held = new Uint8Array(length);
      for (const s of spans) held.fill(1, s.start, s.end);
    }
    if (held.subarray(span.start, span.end).includes(1)) return;
    spans.push(span);
    held.fill(1, span.start, span.end);
  };
}

function structured(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  const take = taker(spans, text.length);
  const hints = hintsOf(text);

  for (let at = text.indexOf('@'), after = 0; at !== -1; at = text.indexOf('@', at + 1)) {
    if (at < after) continue;
    let start = at;
    while (start > 0 && at - start < 64 && isLocalChar(text.charCodeAt(start - 1))) start--;
    if (start === at || start < after || (start > 0 && isLocalChar(text.charCodeAt(start - 1)))) continue;
    EMAIL_DOMAIN.lastIndex = at + 1;
    const d = EMAIL_DOMAIN.exec(text);
    if (!d) continue;
    after = d.index + d[0].length;
    take({ type: 'email', start, end: after, canonical: text.slice(start, after).toLowerCase() });
  }
  for (const s of detectSecrets(text)) take({ type: 'secret', start: s.start, end: s.end, canonical: s.value, kind: s.kind });
  numberMatches('iban', text, (m) => {
    // the pattern may run on into the next words: cut at the country's IBAN length
    const want = IBAN_LENGTHS[m[0].slice(0, 2).toUpperCase()];
    if (want === undefined) return;
    let compact = '';
    let end = 0;
    while (end < m[0].length && compact.length < want) {
      if (m[0][end] !== ' ') compact += m[0][end]!.toUpperCase();
      end++;
    }
    if (/[A-Za-z0-9]/.test(text[m.index + end] ?? '')) return;
    if (ibanValid(compact)) take({ type: 'iban', start: m.index, end: m.index + end, canonical: compact });
  });
  numberMatches('card', text, (m) => {
    if (!isConsistentlyGrouped(m[0])) return;
    const digits = m[0].replace(/[ -]/g, '');
    const cued = CARD_CUE.test(text.slice(Math.max(0, m.index - 40), m.index));
    if ((cued || (digits.length >= 13 && /^[2-6]/.test(digits))) && luhnValid(digits)) {
      take({ type: 'credit_card', start: m.index, end: m.index + m[0].length, canonical: digits });
    }
  });
  numberMatches('ssn_dashed', text, (m) => {
    if (validSsn(m[1]!, m[2]!, m[3]!)) take({ type: 'ssn', start: m.index, end: m.index + m[0].length, canonical: m[1]! + m[2]! + m[3]! });
  });
  if (hints.present(SSN_HINTS)) {
    numberMatches('ssn_plain', text, (m) => {
      const before = text.slice(Math.max(0, m.index - 48), m.index);
      if (SSN_CONTEXT.test(before) && validSsn(m[1]!, m[2]!, m[3]!)) {
        take({ type: 'ssn', start: m.index, end: m.index + m[0].length, canonical: m[1]! + m[2]! + m[3]! });
      }
    });
  }
  numberMatches('uk_nino', text, (m) => {
    take({ type: 'national_id', start: m.index, end: m.index + m[0].length, canonical: m[0].replace(/ /g, ''), kind: 'uk_nino' });
  });
  numberMatches('es_id', text, (m) => {
    const [, prefix, digits, letter] = m;
    const n = Number(`${prefix === '' ? '' : 'XYZ'.indexOf(prefix!)}${digits}`);
    if ((prefix === '' ? digits!.length === 8 : digits!.length === 7) && DNI_LETTERS[n % 23] === letter) {
      take({ type: 'national_id', start: m.index, end: m.index + m[0].length, canonical: m[0].replace('-', ''), kind: prefix === '' ? 'es_dni' : 'es_nie' });
    }
  });
  if (IPV4_CHARS.test(text)) {
    numberMatches('ipv4', text, (m) => {
      if (isIPv4(m[0])) take({ type: 'ip_address', start: m.index, end: m.index + m[0].length, canonical: m[0] });
    });
  }
  // an IPv6 address has two colons at most five characters apart with only hex digits between:
  // the pattern runs from such places only (anchored at every position it cost 50 us on 4 KB)
  for (let colon = text.indexOf(':'), after = 0; colon !== -1; colon = text.indexOf(':', colon + 1)) {
    if (colon < after) continue;
    let j = colon + 1;
    while (j < text.length && j - colon <= 5 && isHex(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 58) continue;
    let from = colon;
    while (from > 0 && colon - from < 4 && isHex(text.charCodeAt(from - 1))) from--;
    IPV6.lastIndex = Math.max(from, after);
    const m = IPV6.exec(text);
    if (!m || m.index > colon) continue;
    after = m.index + m[0].length;
    if (m[0].length >= 3 && isIPv6(m[0])) take({ type: 'ip_address', start: m.index, end: after, canonical: m[0].toLowerCase() });
  }
  numberMatches('nanp', text, (m) => {
    const [, plusOne, open, , close, sep1, , sep2] = m;
    if (Boolean(open) !== Boolean(close)) return;
    const formatted = Boolean(plusOne) || Boolean(open) || (sep1 !== '' && sep1 === sep2);
    if (!formatted) return;
    const digits = m[0].replace(/\D/g, '');
    take({ type: 'phone', start: m.index, end: m.index + m[0].length, canonical: digits.length === 10 ? `1${digits}` : digits });
  });
  numberMatches('intl', text, (m) => {
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 8 && digits.length <= 15) {
      take({ type: 'phone', start: m.index, end: m.index + m[0].length, canonical: digits });
    }
  });
  phoneCues(text, (m) => {
    CUED_PHONE.lastIndex = m.index + m[0].length;
    const p = CUED_PHONE.exec(text);
    if (!p) return;
    const raw = p[1]!;
    const digits = raw.replace(/(?:x|ext\.?)[ ]?\d+$/, '').replace(/\D/g, '');
    if (digits.length < 6 || digits.length > 15 || /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/.test(raw)) return;
    const start = p.index + p[0].length - raw.length;
    take({ type: 'phone', start, end: start + raw.length, canonical: digits });
  });
  if (hints.present(PHONE_LABEL_HINTS)) {
    for (const m of text.matchAll(LABELLED_PHONE)) {
      const digits = m[1]!.replace(/\D/g, '');
      if (digits.length >= 6 && digits.length <= 15) take({ type: 'phone', start: m.index, end: m.index + m[1]!.length, canonical: digits });
    }
  }
  return spans;
}

// the characters of an e-mail local part: A-Z a-z 0-9 . _ % + -
function isLocalChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** The Luhn (mod 10) check every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

// ISO 13616 lengths per country (SWIFT IBAN registry)
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

/** ISO 13616 check: the country's length and mod-97 of the rearranged number equal to 1. */
export function ibanValid(iban: string): boolean {
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

// SSA rules: area 000, 666 and 900–999 are never issued; group 00 and serial 0000 neither.
function validSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

// "4111 1111 1111 1111" and "4111-1111-1111-1111" are cards; "4111 1111-11 1 1111…" mixing separators is not.
function isConsistentlyGrouped(raw: string): boolean {
  let sep = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (sep !== 0 && c !== sep) return false;
    sep = c;
  }
  return true;
}
