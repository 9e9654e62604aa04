import { createHash } from 'node:crypto';
import type { Detection, PiiType } from '@higgs/schema';
import { completePii, detectPii, detectStructuredPii, type PiiSpan } from './pii.ts';

export { completePii, detectPii, detectStructuredPii, ibanValid, luhnValid } from './pii.ts';
export type { PiiSpan } from './pii.ts';
export { detectSecrets, entropy } from './secrets.ts';
export type { SecretSpan } from './secrets.ts';
export { COMMON_WORDS, detectNames } from './names.ts';
export type { NameLists, NameSpan } from './names.ts';
export { detectAddresses } from './address.ts';
export type { AddressSpan } from './address.ts';
export {
  INJECTION_FEATURES, INJECTION_HASH_DIM, INJECTION_THRESHOLD, injectionFeatures, injectionLogit, injectionScore, injectionVector,
  keywordInjectionScore,
} from './injection.ts';
export type { InjectionFeature, InjectionModel } from './injection.ts';

export type DetectionField = Detection['field'];

/** First 16 hex of sha256(salt + value): the only form in which a detected value leaves the scanner. */
export function hashValue(salt: string, value: string): string {
  return createHash('sha256').update(salt + value).digest('hex').slice(0, 16);
}

/** The text as it may be recorded, plus what was found in it. */
export interface ScannedText {
  masked: string;
  detections: Detection[];
  spans: PiiSpan[];
}

/** Which detectors a scan runs. */
export interface ScanOptions {
  /**
   * `full` (default): every PII type; `structured`: the validated types only
   * (e-mail, secrets, IBAN, card, SSN, national ids, IP, phone), no person
   * names or street addresses: the cheap pass for a caller on the hot path,
   * which runs the full pass later, off the path
   */
  pass?: 'full' | 'structured';
  /** for the full pass: the spans a structured pass already found in this same text (not found again) */
  structured?: readonly PiiSpan[];
}

/**
 * Detects PII in `text` and masks every value as `[TYPE:hash8]`
 * (`[SSN:3fa9c1d2]`), so the recorded text keeps its shape and a value seen
 * twice masks the same way. The hash is over the value's canonical form
 * (digits only, lower-case e-mail), so `123-45-6789` and `123456789` agree.
 */
export function scanText(text: string, field: DetectionField, salt: string, opts: ScanOptions = {}): ScannedText {
  const spans = opts.pass === 'structured' ? detectStructuredPii(text)
    : opts.structured ? completePii(text, opts.structured) : detectPii(text);
  if (spans.length === 0) return { masked: text, detections: [], spans };
  const detections: Detection[] = [];
  let masked = '';
  let at = 0;
  for (const span of spans) {
    const hash = hashValue(salt, span.canonical);
    detections.push({ type: span.type, field, hash });
    masked += `${text.slice(at, span.start)}[${span.type.toUpperCase()}:${hash.slice(0, 8)}]`;
    at = span.end;
  }
  return { masked: masked + text.slice(at), detections, spans };
}

/**
 * Replaces the detected values of the given types with `[REDACTED:<type>]`;
 * `types` null redacts every detected type. Used on outgoing request text.
 */
export function redactText(text: string, types: ReadonlySet<PiiType> | null): string {
  const spans = detectPii(text).filter((s) => types === null || types.has(s.type));
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += `${text.slice(at, span.start)}[REDACTED:${span.type}]`;
    at = span.end;
  }
  return out + text.slice(at);
}
