import type { ServerResponse } from 'node:http';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import {
  contentText,
  isRecord,
  providerId,
  sendEventStream,
  sendJson,
  type StreamPacing,
  type UpstreamRequest,
} from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
import { sseFrame, splitIntoDeltas } from './sse.ts';

/** The request fields the mock reads; everything else is accepted and ignored, as the real API does. */
export interface OpenAiChatRequest {
  model: string;
  messages: ReadonlyArray<{ role: string; content: unknown }>;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
}

const SYSTEM_FINGERPRINT = 'fp_higgsdemo01';
const STREAM_DELTAS = 5;

/**
 * An OpenAI-shaped error body (https://platform.openai.com/docs/guides/error-codes):
 * `{ error: { message, type, param, code } }`.
 */
export function openAiError(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** Validates a chat completions body the way the API does for the fields the mock relies on. */
export function parseChatRequest(body: unknown): { ok: true; request: OpenAiChatRequest } | { ok: false; message: string; param: string } {
  if (!isRecord(body)) return { ok: false, message: 'The request body must be a JSON object.', param: '' };
  if (typeof body.model !== 'string' || body.model.length === 0) {
    return { ok: false, message: "you must provide a model parameter", param: 'model' };
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every((m) => isRecord(m) && typeof m.role === 'string')) {
    return { ok: false, message: "Invalid value for 'messages': expected a non-empty array of messages.", param: 'messages' };
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  return {
    ok: true,
    request: {
      model: body.model,
      messages: messages as OpenAiChatRequest['messages'],
      stream: body.stream === true,
      includeUsage: streamOptions.include_usage === true,
      ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
    },
  };
}

function promptText(request: OpenAiChatRequest): string {
  return request.messages.map((m) => contentText(m.content)).join('\n');
}

/** The user-turn text the reply is about: the last user message. */
function lastUserText(request: OpenAiChatRequest): string {
  const user = request.messages.filter((m) => m.role === 'user').at(-1);
  return user === undefined ? promptText(request) : contentText(user.content);
}

function usageFor(promptTokens: number, completionTokens: number): CompletionUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** A complete non-streaming `chat.completion` for the request. */
export function buildChatCompletion(request: OpenAiChatRequest, id: string, created: number): ChatCompletion {
  const reply = replyFor(lastUserText(request), request.maxTokens);
  return {
    id,
    object: 'chat.completion',
    created,
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: reply.truncated ? 'length' : 'stop',
      },
    ],
    usage: usageFor(estimateTokens(promptText(request)), estimateTokens(reply.text)),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/**
 * The `chat.completion.chunk` sequence for a streamed reply: a role delta,
 * several content deltas, a finish_reason chunk and, when the caller asked
 * with `stream_options.include_usage`, a final usage chunk with no choices.
 */
export function buildChatCompletionChunks(request: OpenAiChatRequest, id: string, created: number): ChatCompletionChunk[] {
  const reply = replyFor(lastUserText(request), request.maxTokens);
  const base = { id, object: 'chat.completion.chunk' as const, created, model: request.model, service_tier: 'default' as const, system_fingerprint: SYSTEM_FINGERPRINT };
  // with include_usage, every chunk but the last carries `usage: null` (API reference, stream_options)
  const usageField = request.includeUsage ? { usage: null } : {};
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason']): ChatCompletionChunk => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usageField,
  });
  const chunks = [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...splitIntoDeltas(reply.text, STREAM_DELTAS).map((content) => chunk({ content }, null)),
    chunk({}, reply.truncated ? 'length' : 'stop'),
  ];
  if (request.includeUsage) {
    chunks.push({ ...base, choices: [], usage: usageFor(estimateTokens(promptText(request)), estimateTokens(reply.text)) });
  }
  return chunks;
}

/** Serves `POST /v1/chat/completions`: auth first, then JSON, then the fields, as the API checks them. */
export async function handleOpenAi(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const started = Date.now();
  const requestId = providerId('req_', 32);
  const headers = { 'x-request-id': requestId, 'openai-version': '2020-10-01', 'openai-organization': 'higgs-demo' };
  const processing = () => ({ ...headers, 'openai-processing-ms': String(Date.now() - started) });

  const parsed = req.json;
  const auth = req.headers.authorization ?? '';
  if (!/^Bearer\s+\S+/i.test(auth)) {
    sendJson(res, 401, processing(), openAiError(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
      null,
    ));
    return;
  }
  if (!parsed.ok) {
    sendJson(res, 400, processing(), openAiError(
      'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
      'invalid_request_error',
      null,
    ));
    return;
  }
  const valid = parseChatRequest(parsed.value);
  if (!valid.ok) {
    sendJson(res, 400, processing(), openAiError(valid.message, 'invalid_request_error', null, valid.param || null));
    return;
  }

  const id = providerId('chatcmpl-', 29);
  const created = Math.floor(Date.now() / 1000);
  if (!valid.request.stream) {
    sendJson(res, 200, processing(), buildChatCompletion(valid.request, id, created));
    return;
  }
  const frames = [...buildChatCompletionChunks(valid.request, id, created).map((c) => sseFrame(c)), sseFrame('[DONE]')];
  await sendEventStream(res, processing(), frames, pacing);
}
