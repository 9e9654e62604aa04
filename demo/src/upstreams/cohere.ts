import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { contentText, isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
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
