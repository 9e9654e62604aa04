import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { buildChatCompletion, buildChatCompletionChunks, parseChatRequest } from './openai.ts';
import { buildEmbeddings, parseEmbeddingsRequest, serveResponses } from './openai-extra.ts';
import { sseFrame } from './sse.ts';

/**
 * `/openai/deployments/{deployment}/chat/completions` and `/embeddings`, and the
 * Responses API at `/openai/responses` and `/openai/v1/responses`
 * (https://learn.microsoft.com/azure/ai-services/openai/reference).
 */
export const AZURE_PATH = /^\/openai\/(?:deployments\/[^/]+\/(?:chat\/completions|embeddings)|(?:v1\/)?responses)$/;

const SAFE = { filtered: false, severity: 'safe' } as const;
const FILTERS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTERS = [{ prompt_index: 0, content_filter_results: { ...FILTERS, jailbreak: { filtered: false, detected: false } } }];

const azureError = (code: string, message: string) => ({ error: { code, message } });

/**
 * Azure OpenAI: an `api-key` header (or an Entra bearer token), a required
 * `api-version` query parameter, the deployment in the path standing for the
 * model, and OpenAI's response shapes plus Azure's content-filter annotations
 * (a `prompt_filter_results` first stream chunk with no choices, and
 * `content_filter_results` per choice).
 */
export async function handleAzure(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const headers = { 'apim-request-id': providerId('', 32), 'x-ms-region': 'East US', 'x-request-id': providerId('', 32) };
  if (!req.headers['api-key'] && !/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
    sendJson(res, 401, headers, azureError('401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'));
    return;
  }
  const v1 = req.path.startsWith('/openai/v1/');
  // the v1 API takes api-version as optional; the dated API requires it
  if (!v1 && !req.query.get('api-version')) {
    sendJson(res, 404, headers, azureError('404', 'Resource not found'));
    return;
  }
  if (req.path.endsWith('/responses')) {
    await serveResponses(req, res, headers, pacing);
    return;
  }
  const [, , , deployment, ...rest] = req.path.split('/');
  const operation = rest.join('/');
  const body = req.json.ok && isRecord(req.json.value) ? { ...req.json.value } : null;
  if (!body) {
    sendJson(res, 400, headers, { error: { code: 'BadRequest', message: 'Could not parse the request body as JSON.', param: null, type: null } });
    return;
  }
  // the deployment decides the model; the body's `model` is optional and ignored
  const model = typeof body.model === 'string' && body.model !== '' ? body.model : decodeURIComponent(deployment ?? '');
  if (operation === 'embeddings') {
    const parsed = parseEmbeddingsRequest(body);
    if (!parsed.ok) {
      sendJson(res, 400, headers, { error: { code: 'BadRequest', message: parsed.message, param: parsed.param, type: null } });
      return;
    }
    sendJson(res, 200, headers, buildEmbeddings(model, parsed.inputs, parsed.encoding, parsed.dimensions));
    return;
  }
  const valid = parseChatRequest({ ...body, model });
  if (!valid.ok) {
    sendJson(res, 400, headers, { error: { code: 'BadRequest', message: valid.message, param: valid.param, type: null } });
    return;
  }
  const id = providerId('chatcmpl-', 29);
  const created = Math.floor(Date.now() / 1000);
  if (!valid.request.stream) {
    const completion = buildChatCompletion(valid.request, id, created);
    sendJson(res, 200, headers, {
      ...completion,
      choices: completion.choices.map((c) => ({ ...c, content_filter_results: FILTERS })),
      prompt_filter_results: PROMPT_FILTERS,
    });
    return;
  }
  const chunks: unknown[] = [
    { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: PROMPT_FILTERS },
    ...buildChatCompletionChunks(valid.request, id, created).map((c: ChatCompletionChunk) => ({
      ...c,
      choices: c.choices.map((choice) => ({ ...choice, content_filter_results: choice.finish_reason ? {} : FILTERS })),
    })),
  ];
  await sendEventStream(res, headers, [...chunks.map((c) => sseFrame(c)), sseFrame('[DONE]')], pacing);
}
