import type { ServerResponse } from 'node:http';
import type { Message, MessageDeltaUsage, RawMessageStreamEvent, Usage } from '@anthropic-ai/sdk/resources/messages';
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

/** The request fields the mock reads; everything else is accepted and ignored. */
export interface AnthropicMessagesRequest {
  model: string;
  maxTokens: number;
  system: string;
  messages: ReadonlyArray<{ role: string; content: unknown }>;
  stream: boolean;
}

const STREAM_DELTAS = 5;

/**
 * An Anthropic-shaped error body (https://docs.anthropic.com/en/api/errors):
 * `{ type: 'error', error: { type, message }, request_id }`.
 */
export function anthropicError(type: string, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/** Validates a Messages API body for the fields the mock relies on (model, max_tokens, messages). */
export function parseMessagesRequest(body: unknown): { ok: true; request: AnthropicMessagesRequest } | { ok: false; message: string } {
  if (!isRecord(body)) return { ok: false, message: 'request body must be a JSON object' };
  if (typeof body.model !== 'string' || body.model.length === 0) return { ok: false, message: 'model: Field required' };
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    return { ok: false, message: 'max_tokens: Field required' };
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every((m) => isRecord(m) && (m.role === 'user' || m.role === 'assistant'))) {
    return { ok: false, message: 'messages: at least one message is required, each with role user or assistant' };
  }
  return {
    ok: true,
    request: {
      model: body.model,
      maxTokens: body.max_tokens,
      system: contentText(body.system),
      messages: messages as AnthropicMessagesRequest['messages'],
      stream: body.stream === true,
    },
  };
}

function inputTokens(request: AnthropicMessagesRequest): number {
  return estimateTokens([request.system, ...request.messages.map((m) => contentText(m.content))].join('\n'));
}

function lastUserText(request: AnthropicMessagesRequest): string {
  const user = request.messages.filter((m) => m.role === 'user').at(-1);
  return user === undefined ? '' : contentText(user.content);
}

function usageFor(input: number, output: number): Usage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}

function messageShell(request: AnthropicMessagesRequest, id: string): Omit<Message, 'content' | 'stop_reason' | 'usage'> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: request.model,
    stop_sequence: null,
    container: null,
    diagnostics: null,
    stop_details: null,
  };
}

/** A complete non-streaming `message` for the request. */
export function buildMessage(request: AnthropicMessagesRequest, id: string): Message {
  const reply = replyFor(lastUserText(request), request.maxTokens);
  return {
    ...messageShell(request, id),
    content: [{ type: 'text', text: reply.text, citations: null }],
    stop_reason: reply.truncated ? 'max_tokens' : 'end_turn',
    usage: usageFor(inputTokens(request), estimateTokens(reply.text)),
  };
}

/**
 * The event sequence of a streamed message: `message_start`, one text
 * `content_block_start`, a `ping`, several `text_delta`s, `content_block_stop`,
 * `message_delta` (stop reason and cumulative output usage), `message_stop`.
 */
export function buildMessageEvents(request: AnthropicMessagesRequest, id: string): Array<RawMessageStreamEvent | { type: 'ping' }> {
  const reply = replyFor(lastUserText(request), request.maxTokens);
  const input = inputTokens(request);
  const deltaUsage: MessageDeltaUsage = {
    input_tokens: input,
    output_tokens: estimateTokens(reply.text),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens_details: null,
    server_tool_use: null,
  };
  return [
    // the start event reports the input and one output token so far, as the API does
    { type: 'message_start', message: { ...messageShell(request, id), content: [], stop_reason: null, usage: usageFor(input, 1) } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
    { type: 'ping' },
    ...splitIntoDeltas(reply.text, STREAM_DELTAS).map((text) => ({
      type: 'content_block_delta' as const,
      index: 0,
      delta: { type: 'text_delta' as const, text },
    })),
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: reply.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null, container: null, stop_details: null },
      usage: deltaUsage,
    },
    { type: 'message_stop' },
  ];
}

/** Serves `POST /v1/messages`: x-api-key, then anthropic-version, then JSON and fields. */
export async function handleAnthropic(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const requestId = providerId('req_', 24);
  const headers = { 'request-id': requestId };
  if (!req.headers['x-api-key']) {
    sendJson(res, 401, headers, anthropicError('authentication_error', 'x-api-key header is required', requestId));
    return;
  }
  if (!req.headers['anthropic-version']) {
    sendJson(res, 400, headers, anthropicError('invalid_request_error', 'anthropic-version: header is required', requestId));
    return;
  }
  if (!req.json.ok) {
    sendJson(res, 400, headers, anthropicError('invalid_request_error', 'There was an issue with the format or content of your request: invalid JSON', requestId));
    return;
  }
  const valid = parseMessagesRequest(req.json.value);
  if (!valid.ok) {
    sendJson(res, 400, headers, anthropicError('invalid_request_error', valid.message, requestId));
    return;
  }
  const id = providerId('msg_01', 22);
  if (!valid.request.stream) {
    sendJson(res, 200, headers, buildMessage(valid.request, id));
    return;
  }
  const frames = buildMessageEvents(valid.request, id).map((event) => sseFrame(event, event.type));
  await sendEventStream(res, headers, frames, pacing);
}
