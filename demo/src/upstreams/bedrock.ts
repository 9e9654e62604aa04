import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { encodeEventStreamMessage } from '@higgs/scanner';
import { buildMessage, buildMessageEvents, parseMessagesRequest } from './anthropic.ts';
import { clientGone, contentText, isRecord, providerId, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
import { splitIntoDeltas } from './sse.ts';

/** The Bedrock runtime paths the mock serves: `/model/{modelId}/{action}`. */
export const BEDROCK_PATH = /^\/model\/[^/]+\/(?:invoke|invoke-with-response-stream|converse|converse-stream)$/;

const STREAM_DELTAS = 4;

/**
 * Serves the Bedrock runtime on `bedrock-runtime.<region>.amazonaws.com`:
 * InvokeModel and InvokeModelWithResponseStream for Anthropic (Messages body)
 * and Amazon Titan Text models, Converse and ConverseStream for any model.
 * Streams are the AWS event-stream binary framing, as the SDK decodes it.
 * Requests must carry a SigV4 `authorization` header (not verified: the mock
 * has no secret); errors are `x-amzn-errortype` + `{"message"}` as AWS sends them.
 */
export async function handleBedrock(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const m = /^\/model\/([^/]+)\/([a-z-]+)$/.exec(req.path)!;
  const modelId = decodeURIComponent(m[1]!);
  const action = m[2]!;
  const requestId = randomUUID();
  if (!(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
    awsError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token', requestId);
    return;
  }
  if (!req.json.ok || !isRecord(req.json.value)) {
    awsError(res, 400, 'ValidationException', 'Malformed input request, please reformat your input and try again.', requestId);
    return;
  }
  const body = req.json.value;
  if (action === 'converse' || action === 'converse-stream') {
    await converse(body, action === 'converse-stream', res, pacing, requestId);
    return;
  }
  const stream = action === 'invoke-with-response-stream';
  if (modelId.includes('anthropic.')) {
    const valid = parseMessagesRequest({ ...body, model: modelId });
    if (!valid.ok || body.anthropic_version !== 'bedrock-2023-05-31') {
      awsError(res, 400, 'ValidationException', valid.ok ? 'anthropic_version: bedrock-2023-05-31 is required' : valid.message, requestId);
      return;
    }
    const id = providerId('msg_bdrk_01', 22);
    if (!stream) {
      sendBlob(res, requestId, buildMessage(valid.request, id));
      return;
    }
    const events: unknown[] = buildMessageEvents(valid.request, id);
    const final = buildMessage(valid.request, id).usage;
    // Bedrock appends its invocation metrics to the last chunk of every model's stream
    events.push({ ...(events.pop() as object), 'amazon-bedrock-invocationMetrics': {
      inputTokenCount: final.input_tokens, outputTokenCount: final.output_tokens, invocationLatency: 120, firstByteLatency: 40,
    } });
    await sendEventStream(res, requestId, events.map((e) => chunk(e)), pacing);
    return;
  }
  if (modelId.startsWith('amazon.titan-text')) {
    if (typeof body.inputText !== 'string') {
      awsError(res, 400, 'ValidationException', 'Malformed input request: #: required key [inputText] not found', requestId);
      return;
    }
    const cfg = isRecord(body.textGenerationConfig) ? body.textGenerationConfig : {};
    const reply = replyFor(body.inputText, typeof cfg.maxTokenCount === 'number' ? cfg.maxTokenCount : undefined);
    const input = estimateTokens(body.inputText);
    const output = estimateTokens(reply.text);
    const reason = reply.truncated ? 'LENGTH' : 'FINISH';
    if (!stream) {
      sendBlob(res, requestId, { inputTextTokenCount: input, results: [{ tokenCount: output, outputText: reply.text, completionReason: reason }] });
      return;
    }
    const pieces = splitIntoDeltas(reply.text, STREAM_DELTAS);
    const frames = pieces.map((text, i) => chunk({
      outputText: text, index: 0, totalOutputTextTokenCount: estimateTokens(pieces.slice(0, i + 1).join('')),
      completionReason: i === pieces.length - 1 ? reason : null, inputTextTokenCount: i === 0 ? input : null,
      ...(i === pieces.length - 1 ? { 'amazon-bedrock-invocationMetrics': { inputTokenCount: input, outputTokenCount: output, invocationLatency: 90, firstByteLatency: 30 } } : {}),
    }));
    await sendEventStream(res, requestId, frames, pacing);
    return;
  }
  awsError(res, 400, 'ValidationException', `The provided model identifier is invalid: ${modelId}`, requestId);
}

async function converse(body: Record<string, unknown>, stream: boolean, res: ServerResponse, pacing: StreamPacing, requestId: string): Promise<void> {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  if (messages.length === 0 || !messages.every((m) => isRecord(m) && (m.role === 'user' || m.role === 'assistant') && Array.isArray(m.content))) {
    awsError(res, 400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.', requestId);
    return;
  }
  const lastUser = [...messages].reverse().find((m) => isRecord(m) && m.role === 'user') as { content: unknown } | undefined;
  const system = Array.isArray(body.system) ? contentText(body.system) : '';
  const max = isRecord(body.inferenceConfig) && typeof body.inferenceConfig.maxTokens === 'number' ? body.inferenceConfig.maxTokens : undefined;
  const reply = replyFor(contentText(lastUser?.content), max);
  const usage = {
    inputTokens: estimateTokens([system, ...messages.map((m) => contentText((m as { content: unknown }).content))].join('\n')),
    outputTokens: estimateTokens(reply.text),
  };
  const usageOut = { ...usage, totalTokens: usage.inputTokens + usage.outputTokens };
  const stopReason = reply.truncated ? 'max_tokens' : 'end_turn';
  if (!stream) {
    sendJson(res, 200, { 'x-amzn-requestid': requestId }, {
      output: { message: { role: 'assistant', content: [{ text: reply.text }] } }, stopReason, usage: usageOut, metrics: { latencyMs: 85 },
    });
    return;
  }
  const frames = [
    event('messageStart', { role: 'assistant' }),
    ...splitIntoDeltas(reply.text, STREAM_DELTAS).map((text) => event('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })),
    event('contentBlockStop', { contentBlockIndex: 0 }),
    event('messageStop', { stopReason }),
    event('metadata', { usage: usageOut, metrics: { latencyMs: 85 } }),
  ];
  await sendEventStream(res, requestId, frames, pacing);
}

// Bedrock pads event payloads with `p` (random letters) so frame sizes do not leak token lengths.
const pad = (): string => providerId('', 4 + Math.floor(Math.random() * 20));

function chunk(modelEvent: unknown): Buffer {
  const bytes = Buffer.from(JSON.stringify(modelEvent)).toString('base64');
  return encodeEventStreamMessage(
    { ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify({ bytes, p: pad() })),
  );
}

function event(type: string, payload: Record<string, unknown>): Buffer {
  return encodeEventStreamMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify({ ...payload, p: pad() })),
  );
}

function sendBlob(res: ServerResponse, requestId: string, body: unknown): void {
  sendJson(res, 200, { 'x-amzn-requestid': requestId, 'x-amzn-bedrock-content-type': 'application/json' }, body);
}

async function sendEventStream(res: ServerResponse, requestId: string, frames: readonly Buffer[], pacing: StreamPacing): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': requestId,
    'x-amzn-bedrock-content-type': 'application/json',
  });
  res.flushHeaders();
  for (const frame of frames) {
    if (clientGone(res)) return;
    res.write(frame);
    if (pacing.chunkDelayMs > 0) await delay(pacing.chunkDelayMs);
  }
  res.end();
}

function awsError(res: ServerResponse, status: number, type: string, message: string, requestId: string): void {
  sendJson(res, status, { 'x-amzn-requestid': requestId, 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` }, { message });
}
