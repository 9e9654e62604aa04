import type { PiiType } from '@higgs/schema';

/** One detected value: its type, where it sits in the text, and its canonical form (for hashing only). */
export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
  /** digits only for numbers, lower case for e-mail; held in memory, never stored */
  canonical: string;
}

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;
// 13–19 digits, optionally grouped by single spaces or dashes
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const SSN_DASHED = /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/g;
const SSN_PLAIN = /(?<![\d-])(\d{3})[ ]?(\d{2})[ ]?(\d{4})(?![\d-])/g;
// "SSN", "social security (number)", "soc. sec." within a few words before the number
const SSN_CONTEXT = /\b(?:ssn|ssns|social\s+security(?:\s+(?:number|no\.?|#))?|soc\.?\s*sec\.?)\b[^\n\d]{0,24}$/i;
// NANP: optional +1, area and exchange codes start 2–9; at least one separator, parentheses or the +1 prefix
const NANP = /(?<![\w+])(?:(\+1)[ .-]?)?(\()?([2-9]\d{2})(\))?([ .-]?)([2-9]\d{2})([ .-]?)(\d{4})(?![\d-])/g;
// international: +CC then groups of digits; total 8–15 digits (E.164)
// (a flat character class keeps matching linear in the input length)
const INTL = /(?<![\w+])\+[1-9][\d .()-]{6,22}\d(?!\d)/g;

/**
 * Finds e-mail addresses, US SSNs, payment card numbers and phone numbers in
 * `text`, validated (Luhn for cards, SSA area/group/serial rules for SSNs) so
 * that random digit runs are not reported. Spans never overlap; when two
 * detectors claim the same characters the more specific one wins
 * (e-mail > card > SSN > phone).
 *
 * @example detectPii('mail bob@example.com') // [{ type: 'email', start: 5, end: 20, canonical: 'bob@example.com' }]
 */
export function detectPii(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  const take = (span: PiiSpan): void => {
    if (!spans.some((s) => span.start < s.end && s.start < span.end)) spans.push(span);
  };

  for (const m of text.matchAll(EMAIL)) {
    take({ type: 'email', start: m.index, end: m.index + m[0].length, canonical: m[0].toLowerCase() });
  }
  for (const m of text.matchAll(CARD)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (!isConsistentlyGrouped(m[0])) continue;
    if (digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhnValid(digits)) {
      take({ type: 'credit_card', start: m.index, end: m.index + m[0].length, canonical: digits });
    }
  }
  for (const m of text.matchAll(SSN_DASHED)) {
    if (validSsn(m[1]!, m[2]!, m[3]!)) take({ type: 'ssn', start: m.index, end: m.index + m[0].length, canonical: m[1]! + m[2]! + m[3]! });
  }
  for (const m of text.matchAll(SSN_PLAIN)) {
    const before = text.slice(Math.max(0, m.index - 48), m.index);
    if (SSN_CONTEXT.test(before) && validSsn(m[1]!, m[2]!, m[3]!)) {
      take({ type: 'ssn', start: m.index, end: m.index + m[0].length, canonical: m[1]! + m[2]! + m[3]! });
    }
  }
  for (const m of text.matchAll(NANP)) {
    const [, plusOne, open, , close, sep1, , sep2] = m;
    if (Boolean(open) !== Boolean(close)) continue;
    const formatted = Boolean(plusOne) || Boolean(open) || (sep1 !== '' && sep1 === sep2);
    if (!formatted) continue;
    const digits = m[0].replace(/\D/g, '');
    take({ type: 'phone', start: m.index, end: m.index + m[0].length, canonical: digits.length === 10 ? `1${digits}` : digits });
  }
  for (const m of text.matchAll(INTL)) {
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 8 && digits.length <= 15) {
      take({ type: 'phone', start: m.index, end: m.index + m[0].length, canonical: digits });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
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

// SSA rules: area 000, 666 and 900–999 are never issued; group 00 and serial 0000 neither.
function validSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

// "4111 1111 1111 1111" and "4111-1111-1111-1111" are cards; "4111 1111-11 1 1111…" mixing separators is not.
function isConsistentlyGrouped(raw: string): boolean {
  const seps = new Set(raw.replace(/\d/g, ''));
  return seps.size <= 1;
}
