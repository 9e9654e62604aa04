import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { clientGone, contentText, isRecord, providerId, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { estimateTokens, replyFor } from './reply.ts';
import { splitIntoDeltas } from './sse.ts';

/** The Gemini API paths the mock serves. */
export const GEMINI_PATH = /^\/v1(?:beta)?\/models\/[^/:]+:(?:generateContent|streamGenerateContent)$/;

const STREAM_DELTAS = 4;

/** google.rpc.Status, the body of every Gemini API error. */
function geminiError(res: ServerResponse, code: number, status: string, message: string): void {
  sendJson(res, code, {}, { error: { code, message, status } });
}

/**
 * Serves `POST /v1beta/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse` on generativelanguage.googleapis.com: an
 * `x-goog-api-key` (or `key=` query) is required; the stream is SSE whose
 * every `data:` line is a whole GenerateContentResponse with the next piece of
 * text, the last one with `finishReason` and `usageMetadata`.
 */
export async function handleGemini(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const [, model, method] = /^\/v1(?:beta)?\/models\/([^/:]+):(\w+)$/.exec(req.path)!;
  if (!req.headers['x-goog-api-key']) {
    geminiError(res, 403, 'PERMISSION_DENIED', 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
    return;
  }
  if (!req.json.ok || !isRecord(req.json.value)) {
    geminiError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    return;
  }
  const body = req.json.value;
  const contents = Array.isArray(body.contents) ? body.contents : [];
  if (contents.length === 0 || !contents.every((c) => isRecord(c) && Array.isArray(c.parts))) {
    geminiError(res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
    return;
  }
  const lastUser = [...contents].reverse().find((c) => isRecord(c) && c.role !== 'model') as { parts: unknown } | undefined;
  const system = isRecord(body.systemInstruction) ? contentText(body.systemInstruction.parts) : '';
  const cfg = isRecord(body.generationConfig) ? body.generationConfig : {};
  const reply = replyFor(contentText(lastUser?.parts), typeof cfg.maxOutputTokens === 'number' ? cfg.maxOutputTokens : undefined);
  const promptTokenCount = estimateTokens([system, ...contents.map((c) => contentText((c as { parts: unknown }).parts))].join('\n'));
  const candidatesTokenCount = estimateTokens(reply.text);
  const usageMetadata = { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount };
  const finishReason = reply.truncated ? 'MAX_TOKENS' : 'STOP';
  const responseId = providerId('', 20);
  const modelVersion = model!;
  if (method === 'generateContent') {
    sendJson(res, 200, {}, {
      candidates: [{ content: { role: 'model', parts: [{ text: reply.text }] }, finishReason, index: 0 }],
      usageMetadata, modelVersion, responseId,
    });
    return;
  }
  const pieces = splitIntoDeltas(reply.text, STREAM_DELTAS);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  for (const [i, text] of pieces.entries()) {
    if (clientGone(res)) return;
    const last = i === pieces.length - 1;
    const chunk = {
      candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(last ? { finishReason } : {}), index: 0 }],
      usageMetadata: last ? usageMetadata : { promptTokenCount, totalTokenCount: promptTokenCount },
      modelVersion, responseId,
    };
    // Google's SSE frames end with CRLF CRLF
    res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    if (pacing.chunkDelayMs > 0) await delay(pacing.chunkDelayMs);
  }
  res.end();
}
