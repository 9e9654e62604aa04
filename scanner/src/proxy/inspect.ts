/**
 * What the detectors make of a parsed LLM request: its text masked, its PII and
 * secret detections, its injection score. Pure: run on the event loop for most
 * requests, in a worker thread for large ones (inspect-offload.ts).
 */
import type { Detection, LlmCall } from '@higgs/schema';
import { injectionScore, scanText, type PiiSpan } from '../detectors/index.ts';
import type { ParsedRequest } from '../providers/types.ts';

export type InspectionPass = 'full' | 'structured';

export interface Inspected {
  /** which detector pass masked the text and found the detections */
  pass: InspectionPass;
  /** the PII spans of each text (the system prompt, then each message), for the full pass after a structured one */
  spans: { system: PiiSpan[] | null; messages: PiiSpan[][] };
  system: string | null;
  messages: LlmCall['messages'];
  detections: Detection[];
  promptText: string;
  injectionScore: number;
}

/**
 * Masks and detects PII in a request with the given pass, and scores injection. `structured`: the
 * structured pass over the same request, whose spans and score the full pass completes rather than redoes.
 */
export function inspect(p: ParsedRequest, salt: string, pass: InspectionPass, structured?: Inspected): Inspected {
  const detections: Detection[] = [];
  let system: string | null = null;
  let systemSpans: PiiSpan[] | null = null;
  if (p.system !== null) {
    const known = structured?.spans.system;
    const s = scanText(p.system, 'system', salt, { pass, ...(known ? { structured: known } : {}) });
    system = s.masked;
    systemSpans = s.spans;
    detections.push(...s.detections);
  }
  const messageSpans: PiiSpan[][] = [];
  const messages = p.messages.map((m, i) => {
    const field = m.role === 'tool' ? 'tool_output' : m.toolName ? 'tool_input' : 'prompt';
    const known = structured?.spans.messages[i];
    const s = scanText(m.content, field, salt, { pass, ...(known ? { structured: known } : {}) });
    messageSpans.push(s.spans);
    detections.push(...s.detections);
    return { ...m, content: s.masked };
  });
  const promptText = structured?.promptText ?? promptTextOf(p);
  return {
    pass, spans: { system: systemSpans, messages: messageSpans }, system, messages, detections: dedupe(detections), promptText,
    injectionScore: structured?.injectionScore ?? injectionScore(promptText),
  };
}

/** Both inspections of a request, and how long the deciding one took. */
export interface DecisionAndRecord {
  /** the pass that decides (`pass`) */
  decided: Inspected;
  /** the full pass its record is masked with */
  recorded: Inspected;
  /** microseconds `decided` took: what an inline inspection would have spent of the rules' budget */
  decidedUs: number;
}

/** Both inspections a request gets: the one that decides (`pass`), and the full one its record is masked with. */
export function inspectForDecisionAndRecord(p: ParsedRequest, salt: string, pass: InspectionPass): DecisionAndRecord {
  const t0 = performance.now();
  const decided = inspect(p, salt, pass);
  const decidedUs = (performance.now() - t0) * 1000;
  return { decided, recorded: pass === 'full' ? decided : inspect(p, salt, 'full', decided), decidedUs };
}

export const promptTextOf = (p: ParsedRequest): string => p.messages.map((m) => m.content).join('\n');

/** The characters the detectors read in a request. */
export function requestTextChars(p: ParsedRequest): number {
  let n = p.system?.length ?? 0;
  for (const m of p.messages) n += m.content.length;
  return n;
}

export function dedupe(ds: Detection[]): Detection[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.type}|${d.field}|${d.hash}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
