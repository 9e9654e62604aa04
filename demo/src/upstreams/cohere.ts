import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { contentText, isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor, topicWords } from './reply.ts';
import { sseFrame, splitIntoDeltas } from './sse.ts';

const STREAM_DELTAS = 5;

/**
 * Serves Cohere's v2 chat (`POST /v2/chat` on api.cohere.com): the JSON
 * response (`message.content[]`, `finish_reason: "COMPLETE"`, usage in
 * `billed_units` and `tokens`), or with `stream: true` the named SSE events
 * message-start, content-start, content-delta…, content-end, message-end.
 * Errors are `{ id, message }`. https://docs.cohere.com/reference/chat
 */
export async function handleCohere(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const headers = { 'x-debug-trace-id': providerId('', 32).toLowerCase(), 'num_chars': '0' };
  if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
    sendJson(res, 401, headers, { id: randomUUID(), message: 'no api key supplied' });
    return;
  }
  const body = req.json.ok && isRecord(req.json.value) ? req.json.value : null;
  const messages = body && Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  if (!body || typeof body.model !== 'string' || messages.length === 0) {
    sendJson(res, 400, headers, { id: randomUUID(), message: 'invalid request: model and messages are required' });
    return;
  }
  const user = messages.filter((m) => m.role === 'user').at(-1);
  const reply = replyFor(contentText(user?.content), typeof body.max_tokens === 'number' ? body.max_tokens : undefined);
  const input = estimateTokens(messages.map((m) => contentText(m.content)).join('\n'));
  const output = estimateTokens(reply.text);
  // billed units exclude the prompt template Cohere adds; the processed tokens include it
  const usage = { billed_units: { input_tokens: input, output_tokens: output }, tokens: { input_tokens: input + 64, output_tokens: output } };
  const id = randomUUID();
  const finish = reply.truncated ? 'MAX_TOKENS' : 'COMPLETE';
  const call = requiredToolCall(body, contentText(user?.content));
  if (call) {
    await sendToolCall(res, headers, pacing, body.stream === true, id, call, usage);
    return;
  }
  if (body.stream !== true) {
    sendJson(res, 200, headers, { id, message: { role: 'assistant', content: [{ type: 'text', text: reply.text }] }, finish_reason: finish, usage });
    return;
  }
  const event = (type: string, rest: Record<string, unknown>) => sseFrame({ type, ...rest }, type);
  const frames = [
    event('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } }),
    event('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
    ...splitIntoDeltas(reply.text, STREAM_DELTAS).map((text) => event('content-delta', { index: 0, delta: { message: { content: { text } } } })),
    event('content-end', { index: 0 }),
    event('message-end', { delta: { finish_reason: finish, usage } }),
  ];
  await sendEventStream(res, headers, frames, pacing);
}

interface CohereToolCall { id: string; type: 'function'; function: { name: string; arguments: string } }

/**
 * With `tool_choice: "REQUIRED"` the model must call a tool: the first
 * function, its first string parameter filled with the prompt's topic words.
 */
function requiredToolCall(body: Record<string, unknown>, prompt: string): CohereToolCall | null {
  if (body.tool_choice !== 'REQUIRED') return null;
  const fn = (Array.isArray(body.tools) ? body.tools : []).map((t) => (isRecord(t) && isRecord(t.function) ? t.function : null)).find((f) => typeof f?.name === 'string');
  if (!fn) return null;
  const properties = isRecord(fn.parameters) && isRecord(fn.parameters.properties) ? fn.parameters.properties : {};
  const param = Object.entries(properties).find(([, schema]) => isRecord(schema) && schema.type === 'string')?.[0];
  const name = fn.name as string;
  return { id: `${name}_${randomUUID().slice(0, 8)}`, type: 'function', function: { name, arguments: JSON.stringify(param ? { [param]: topicWords(prompt).join(' ') || 'request' } : {}) } };
}

/** A tool-call turn: a tool plan and the call, `finish_reason: "TOOL_CALL"`; streamed as tool-plan-delta and tool-call-start/-delta/-end events. */
async function sendToolCall(
  res: ServerResponse, headers: Record<string, string>, pacing: StreamPacing, stream: boolean, id: string, call: CohereToolCall, usage: unknown,
): Promise<void> {
  const plan = `I will call ${call.function.name} to answer this.`;
  if (!stream) {
    sendJson(res, 200, headers, { id, message: { role: 'assistant', tool_plan: plan, tool_calls: [call] }, finish_reason: 'TOOL_CALL', usage });
    return;
  }
  const event = (type: string, rest: Record<string, unknown>) => sseFrame({ type, ...rest }, type);
  await sendEventStream(res, headers, [
    event('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } }),
    ...splitIntoDeltas(plan, 2).map((tool_plan) => event('tool-plan-delta', { delta: { message: { tool_plan } } })),
    event('tool-call-start', { index: 0, delta: { message: { tool_calls: { ...call, function: { name: call.function.name, arguments: '' } } } } }),
    ...splitIntoDeltas(call.function.arguments, 2).map((args) => event('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: args } } } } })),
    event('tool-call-end', { index: 0 }),
    event('message-end', { delta: { finish_reason: 'TOOL_CALL', usage } }),
  ], pacing);
}
