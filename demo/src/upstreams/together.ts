import type { ServerResponse } from 'node:http';
import { contentText, isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
import { sseFrame, splitIntoDeltas } from './sse.ts';

const STREAM_DELTAS = 5;

const togetherError = (message: string, type: string, code: string | null = null) => ({ id: providerId('', 18), error: { message, type, param: null, code } });

/**
 * Serves Together's `POST /v1/chat/completions` (api.together.xyz and
 * api.together.ai): OpenAI's shape plus Together's fields — `prompt: []`,
 * `seed` per choice, stream choices carrying `text` and `delta.token_id`, the
 * usage in the chunk with the finish reason, then `data: [DONE]`.
 * https://docs.together.ai/reference/chat-completions-1
 */
export async function handleTogether(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const headers = { 'x-request-id': providerId('', 24), 'x-api-received': new Date().toISOString() };
  if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
    sendJson(res, 401, headers, togetherError('Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.', 'invalid_request_error', 'invalid_api_key'));
    return;
  }
  const body = req.json.ok && isRecord(req.json.value) ? req.json.value : null;
  const messages = body && Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  if (!body || typeof body.model !== 'string' || messages.length === 0) {
    sendJson(res, 400, headers, togetherError('Input validation error: `model` and `messages` are required', 'invalid_request_error'));
    return;
  }
  const user = messages.filter((m) => m.role === 'user').at(-1);
  const reply = replyFor(contentText(user?.content), typeof body.max_tokens === 'number' ? body.max_tokens : undefined);
  const prompt = estimateTokens(messages.map((m) => contentText(m.content)).join('\n'));
  const usage = { prompt_tokens: prompt, completion_tokens: estimateTokens(reply.text), total_tokens: prompt + estimateTokens(reply.text), cached_tokens: 0 };
  const id = providerId('o', 15);
  const created = Math.floor(Date.now() / 1000);
  const finish = reply.truncated ? 'length' : 'stop';
  const seed = 4_242_424_242;
  if (body.stream !== true) {
    sendJson(res, 200, headers, {
      id, object: 'chat.completion', created, model: body.model, prompt: [],
      choices: [{ finish_reason: finish, seed, logprobs: null, index: 0, message: { role: 'assistant', content: reply.text, tool_calls: [] } }],
      usage,
    });
    return;
  }
  const deltas = splitIntoDeltas(reply.text, STREAM_DELTAS);
  const frames = deltas.map((text, i) => {
    const last = i === deltas.length - 1;
    return sseFrame({
      id, object: 'chat.completion.chunk', created, model: body.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: last ? finish : null, seed: last ? seed : null, delta: { token_id: 1000 + i, role: 'assistant', content: text, tool_calls: null } }],
      usage: last ? usage : null,
    });
  });
  await sendEventStream(res, headers, [...frames, sseFrame('[DONE]')], pacing);
}
