import type { ServerResponse } from 'node:http';
import { contentText, isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
import { sseFrame, splitIntoDeltas } from './sse.ts';

const STREAM_DELTAS = 5;

/** Mistral's error body: `object: "error"` at the top level (https://docs.mistral.ai/api/). */
const mistralError = (message: unknown, type = 'invalid_request_error') => ({ object: 'error', message, type, param: null, code: null });

/**
 * Serves Mistral's `POST /v1/chat/completions`: the OpenAI-like shape the
 * `@mistralai/mistralai` SDK validates with its zod schemas — `usage` always
 * present, `tool_calls: null` and `prefix: false` on the message; streamed
 * chunks with the usage on the last one, then `data: [DONE]`. A missing field
 * is a 422 with a `detail` list, as the API's validation answers.
 */
export async function handleMistral(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const headers = { 'mistral-correlation-id': providerId('', 32), 'x-kong-request-id': providerId('', 24) };
  if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
    sendJson(res, 401, headers, { message: 'Unauthorized', request_id: providerId('', 32) });
    return;
  }
  const body = req.json.ok && isRecord(req.json.value) ? req.json.value : null;
  if (!body) {
    sendJson(res, 400, headers, mistralError('Invalid JSON body'));
    return;
  }
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  if (typeof body.model !== 'string' || messages.length === 0) {
    const loc = typeof body.model !== 'string' ? 'model' : 'messages';
    sendJson(res, 422, headers, mistralError({ detail: [{ type: 'missing', loc: ['body', loc], msg: 'Field required', input: body }] }));
    return;
  }
  const user = messages.filter((m) => m.role === 'user').at(-1);
  const reply = replyFor(contentText(user?.content), typeof body.max_tokens === 'number' ? body.max_tokens : undefined);
  const usage = { prompt_tokens: estimateTokens(messages.map((m) => contentText(m.content)).join('\n')), completion_tokens: estimateTokens(reply.text), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const id = providerId('', 32).toLowerCase();
  const created = Math.floor(Date.now() / 1000);
  const finish = reply.truncated ? 'length' : 'stop';
  if (body.stream !== true) {
    sendJson(res, 200, headers, {
      id, object: 'chat.completion', model: body.model, usage, created,
      choices: [{ index: 0, message: { role: 'assistant', content: reply.text, tool_calls: null, prefix: false }, finish_reason: finish }],
    });
    return;
  }
  const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}) =>
    sseFrame({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra });
  const deltas = splitIntoDeltas(reply.text, STREAM_DELTAS);
  const frames = [
    chunk({ role: 'assistant', content: '' }, null),
    ...deltas.slice(0, -1).map((content) => chunk({ content }, null)),
    chunk({ content: deltas.at(-1) ?? '' }, finish, { usage }),
    sseFrame('[DONE]'),
  ];
  await sendEventStream(res, headers, frames, pacing);
}
