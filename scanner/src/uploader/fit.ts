import type { IngestEvent, LlmCall, ToolCall } from '@higgs/schema';

/**
 * The most one event's JSON may take, in UTF-8 bytes. The tenant takes at
 * most 10 MiB per `POST /v1/ingest` (INGEST_BODY_LIMIT_BYTES); a call
 * recorded whole can be larger (an 8 MiB prompt and a 16 MiB answer are both
 * within the proxy's limits), and such an event was refused even alone and
 * dead-lettered: the call never reached the tenant's findings and tracks.
 */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** below this, a text is never cut further; what is left to cut then is the number of messages */
const MIN_KEPT_CHARS = 1024;

/** What `fitEvent` did. */
export interface Fitted {
  json: string;
  /** characters of recorded text left out */
  cutChars: number;
  /** messages left out (the middle of a conversation too long to keep whole) */
  cutMessages: number;
}

const marker = (n: number, what: string): string => `…[higgs: ${n} ${what} not recorded]`;
/** whether `json` takes at most `maxBytes` in UTF-8 (at most 3 bytes a UTF-16 unit: counted only when that could exceed it) */
export const fitsIn = (json: string, maxBytes: number): boolean => json.length * 3 <= maxBytes || Buffer.byteLength(json) <= maxBytes;

/**
 * The JSON of an LLM or tool call cut to fit `maxBytes`: every recorded text
 * longer than a limit keeps its start and is marked where it was cut
 * (`…[higgs: N characters not recorded]`), the limit halving until the event
 * fits; past a limit of 1 024 characters, the middle of the conversation goes,
 * marked in the last message kept before it. What was detected in the text
 * (its detections, score and verdict) was found on the whole of it and is
 * kept as it is; the cut text was masked before it was cut. Null for an event
 * of another kind, or one that fits already. `json`: the event's JSON when the
 * caller has it (the uploader serialised it already), so it is not made twice.
 */
export function fitEvent(event: IngestEvent, maxBytes = MAX_EVENT_BYTES, json: string = JSON.stringify(event)): Fitted | null {
  if (event.kind !== 'llm_call' && event.kind !== 'tool_call') return null;
  if (fitsIn(json, maxBytes)) return null;
  // a reduce, not Math.max(...): a conversation can have more messages than a call has room for arguments
  const longest = textsOf(event.event).reduce((n, t) => Math.max(n, t.length), 0);
  let limit = Math.max(MIN_KEPT_CHARS, Math.floor(longest / 2));
  let keep = Number.POSITIVE_INFINITY;
  for (;;) {
    const cut = cutCall(event, limit, keep);
    const json = JSON.stringify(cut.event);
    if (fitsIn(json, maxBytes)) return { json, cutChars: cut.chars, cutMessages: cut.messages };
    if (limit > MIN_KEPT_CHARS) {
      limit = Math.max(MIN_KEPT_CHARS, Math.floor(limit / 2));
      continue;
    }
    const messages = event.kind === 'llm_call' ? event.event.messages.length : 0;
    keep = Math.min(keep, messages);
    // the texts are as short as they go: fewer messages is what is left to cut (a call still too large by its
    // tool list or detections goes out as it is, and a refusal dead-letters it as before)
    if (keep <= 2) return { json, cutChars: cut.chars, cutMessages: cut.messages };
    keep = Math.floor(keep / 2);
  }
}

function textsOf(call: LlmCall | ToolCall): string[] {
  if ('messages' in call) {
    return [call.system ?? '', ...call.messages.map((m) => m.content), call.response?.content ?? '', ...(call.response?.toolCalls.map((t) => t.input) ?? [])];
  }
  return [call.input ?? '', call.output ?? ''];
}

/** A copy of the call with each text cut to `limit` characters and at most `keep` messages (the first and last halves). */
function cutCall(event: IngestEvent & { kind: 'llm_call' | 'tool_call' }, limit: number, keep: number): { event: IngestEvent; chars: number; messages: number } {
  let chars = 0;
  const cut = (text: string): string => {
    if (text.length <= limit) return text;
    chars += text.length - limit;
    return `${text.slice(0, limit)}${marker(text.length - limit, 'characters')}`;
  };
  const cutNullable = (text: string | null): string | null => (text === null ? null : cut(text));
  if (event.kind === 'tool_call') {
    return { event: { kind: 'tool_call', event: { ...event.event, input: cutNullable(event.event.input), output: cutNullable(event.event.output) } }, chars, messages: 0 };
  }
  const call = event.event;
  let messages = call.messages;
  let dropped = 0;
  if (messages.length > keep) {
    // the first half and the last half of what is kept; the cut is marked in the last message before it
    const head = Math.ceil(keep / 2);
    dropped = messages.length - keep;
    messages = [...messages.slice(0, head), ...messages.slice(messages.length - (keep - head))];
  }
  messages = messages.map((m) => ({ ...m, content: cut(m.content) }));
  if (dropped > 0) {
    const at = Math.ceil(keep / 2) - 1;
    messages[at] = { ...messages[at]!, content: `${messages[at]!.content}\n${marker(dropped, 'messages')}` };
  }
  const fitted: LlmCall = {
    ...call,
    system: cutNullable(call.system),
    messages,
    response: call.response && { ...call.response, content: cutNullable(call.response.content), toolCalls: call.response.toolCalls.map((t) => ({ ...t, input: cut(t.input) })) },
  };
  return { event: { kind: 'llm_call', event: fitted }, chars, messages: dropped };
}
