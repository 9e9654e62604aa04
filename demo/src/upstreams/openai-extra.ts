import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { contentText, isRecord, providerId, sendEventStream, sendJson, type StreamPacing, type UpstreamRequest } from './http.ts';
import { openAiError } from './openai.ts';
import { estimateTokens, replyFor, topicWords } from './reply.ts';
import { sseFrame, splitIntoDeltas } from './sse.ts';

const STREAM_DELTAS = 5;
// text-embedding-3-small's native size; `dimensions` in the request shortens it, as the API does
const EMBEDDING_DIMENSIONS = 1536;

/** Checks the bearer key as the OpenAI API does before looking at the body; false when it has answered 401. */
export function openAiAuthorized(req: UpstreamRequest, res: ServerResponse, headers: Record<string, string>): boolean {
  if (/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) return true;
  sendJson(res, 401, headers, openAiError(
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    'invalid_request_error', null,
  ));
  return false;
}

/** The text a Responses request asks about: the last user message of `input`. */
function responsesPrompt(input: unknown): string {
  if (typeof input === 'string') return input;
  const items = Array.isArray(input) ? input.filter((i) => isRecord(i) && (i.type === undefined || i.type === 'message') && i.role === 'user') : [];
  const last = items.at(-1);
  return isRecord(last) ? contentText(last.content) : '';
}

/**
 * The function call a request forces with `tool_choice: "required"` (the
 * first function tool) or `{ type: "function", name }`, with arguments that
 * fill the function's first string parameter with the prompt's topic words.
 */
export function forcedFunctionCall(body: Record<string, unknown>, prompt: string): { name: string; arguments: string } | null {
  const functions = (Array.isArray(body.tools) ? body.tools : []).filter((t): t is Record<string, unknown> => isRecord(t) && t.type === 'function' && typeof t.name === 'string');
  const choice = body.tool_choice;
  const tool = choice === 'required' ? functions[0] : isRecord(choice) && choice.type === 'function' ? functions.find((f) => f.name === choice.name) : undefined;
  if (!tool) return null;
  const properties = isRecord(tool.parameters) && isRecord(tool.parameters.properties) ? tool.parameters.properties : {};
  const param = Object.entries(properties).find(([, schema]) => isRecord(schema) && schema.type === 'string')?.[0];
  return { name: tool.name as string, arguments: JSON.stringify(param ? { [param]: topicWords(prompt).join(' ') || 'request' } : {}) };
}

/** A `response` object as the Responses API returns it (https://platform.openai.com/docs/api-reference/responses/object). */
export function buildResponse(model: string, body: Record<string, unknown>, id: string, createdAt: number, state: 'in_progress' | 'completed') {
  const prompt = responsesPrompt(body.input);
  const reply = replyFor(prompt, typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined);
  const call = forcedFunctionCall(body, prompt);
  const inputTokens = estimateTokens(JSON.stringify(body.input ?? '') + String(body.instructions ?? ''));
  const outputTokens = estimateTokens(call ? call.arguments : reply.text);
  const done = state === 'completed';
  const output = call ? [functionCallItem(id, call, 'completed')] : [messageItem(id, reply.text, 'completed')];
  return {
    reply,
    call,
    response: {
      id, object: 'response', created_at: createdAt, status: done ? (reply.truncated && !call ? 'incomplete' : 'completed') : 'in_progress', background: false,
      error: null, incomplete_details: done && reply.truncated && !call ? { reason: 'max_output_tokens' } : null,
      instructions: typeof body.instructions === 'string' ? body.instructions : null, max_output_tokens: body.max_output_tokens ?? null,
      model, output: done ? output : [],
      parallel_tool_calls: true, previous_response_id: body.previous_response_id ?? null, reasoning: { effort: null, summary: null },
      service_tier: 'default', store: body.store !== false, temperature: 1, text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: body.tool_choice ?? 'auto', tools: Array.isArray(body.tools) ? body.tools : [], top_p: 1, truncation: 'disabled',
      usage: done
        ? { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + outputTokens }
        : null,
      user: null, metadata: {},
    },
  };
}

function functionCallItem(responseId: string, call: { name: string; arguments: string }, status: 'in_progress' | 'completed') {
  const suffix = responseId.slice(5, 29);
  return { id: `fc_${suffix}`, type: 'function_call', status, arguments: status === 'completed' ? call.arguments : '', call_id: `call_${suffix}`, name: call.name };
}

function messageItem(responseId: string, text: string, status: 'in_progress' | 'completed') {
  return {
    id: `msg_${responseId.slice(5)}`, type: 'message', status, role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text, annotations: [], logprobs: [] }] : [],
  };
}

/**
 * Serves `POST /v1/responses`: the JSON `response`, or with `stream: true`
 * the typed event sequence (created, in_progress, output item and content
 * part added, text deltas, done events, completed), each SSE frame named by
 * its `type` and numbered by `sequence_number`.
 */
export async function handleOpenAiResponses(req: UpstreamRequest, res: ServerResponse, pacing: StreamPacing): Promise<void> {
  const headers = { 'x-request-id': providerId('req_', 32), 'openai-version': '2020-10-01', 'openai-organization': 'higgs-demo' };
  if (!openAiAuthorized(req, res, headers)) return;
  await serveResponses(req, res, headers, pacing);
}

/** The Responses API once the caller is authenticated (OpenAI's bearer key, Azure's api-key). */
export async function serveResponses(req: UpstreamRequest, res: ServerResponse, headers: Record<string, string>, pacing: StreamPacing): Promise<void> {
  const body = req.json.ok && isRecord(req.json.value) ? req.json.value : null;
  if (!body) {
    sendJson(res, 400, headers, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    return;
  }
  if (typeof body.model !== 'string' || body.model === '') {
    sendJson(res, 400, headers, openAiError("Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model'));
    return;
  }
  if (typeof body.input !== 'string' && !Array.isArray(body.input)) {
    sendJson(res, 400, headers, openAiError("Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input'));
    return;
  }
  const id = providerId('resp_', 48);
  const createdAt = Math.floor(Date.now() / 1000);
  const { response: final, reply, call } = buildResponse(body.model, body, id, createdAt, 'completed');
  if (body.stream !== true) {
    sendJson(res, 200, headers, final);
    return;
  }
  const { response: initial } = buildResponse(body.model, body, id, createdAt, 'in_progress');
  const terminal = { type: final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: final };
  const frames = (events: Array<Record<string, unknown>>) => events.map((e, i) => sseFrame({ ...e, sequence_number: i }, e.type as string));
  if (call) {
    const done = functionCallItem(id, call, 'completed');
    const common = { item_id: done.id, output_index: 0 };
    await sendEventStream(res, headers, frames([
      { type: 'response.created', response: initial },
      { type: 'response.in_progress', response: initial },
      { type: 'response.output_item.added', output_index: 0, item: functionCallItem(id, call, 'in_progress') },
      ...splitIntoDeltas(call.arguments, 2).map((delta) => ({ type: 'response.function_call_arguments.delta', ...common, delta })),
      { type: 'response.function_call_arguments.done', ...common, arguments: call.arguments },
      { type: 'response.output_item.done', output_index: 0, item: done },
      terminal,
    ]), pacing);
    return;
  }
  const item = messageItem(id, reply.text, 'completed');
  const part = { type: 'output_text', text: reply.text, annotations: [], logprobs: [] };
  const common = { item_id: item.id, output_index: 0, content_index: 0 };
  const events: Array<Record<string, unknown>> = [
    { type: 'response.created', response: initial },
    { type: 'response.in_progress', response: initial },
    { type: 'response.output_item.added', output_index: 0, item: messageItem(id, '', 'in_progress') },
    { type: 'response.content_part.added', ...common, part: { ...part, text: '' } },
    ...splitIntoDeltas(reply.text, STREAM_DELTAS).map((delta) => ({ type: 'response.output_text.delta', ...common, delta, logprobs: [] })),
    { type: 'response.output_text.done', ...common, text: reply.text, logprobs: [] },
    { type: 'response.content_part.done', ...common, part },
    { type: 'response.output_item.done', output_index: 0, item },
    terminal,
  ];
  await sendEventStream(res, headers, frames(events), pacing);
}

/** A deterministic unit vector for a text: the same input always embeds the same. */
export function embeddingFor(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let block = Buffer.alloc(0);
  for (let i = 0; out.length < dimensions; i++) {
    if (block.length === 0) block = createHash('sha256').update(`${i}:${text}`).digest();
    out.push(block.readInt8(0) / 128);
    block = block.subarray(1);
  }
  const norm = Math.hypot(...out) || 1;
  return out.map((v) => v / norm);
}

/**
 * The embeddings list for a request (https://platform.openai.com/docs/api-reference/embeddings/object),
 * with each vector as numbers or, for `encoding_format: "base64"` (what the
 * openai SDK asks for by default), as base64 of little-endian float32s.
 */
export function buildEmbeddings(model: string, inputs: string[], encoding: 'float' | 'base64', dimensions: number) {
  const tokens = inputs.reduce((n, t) => n + estimateTokens(t), 0);
  return {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embeddingFor(text, dimensions);
      return { object: 'embedding', index, embedding: encoding === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector };
    }),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** Validates an embeddings body; the error message is the API's. */
export function parseEmbeddingsRequest(body: unknown): { ok: true; model: string | null; inputs: string[]; encoding: 'float' | 'base64'; dimensions: number } | { ok: false; message: string; param: string } {
  if (!isRecord(body)) return { ok: false, message: 'The request body must be a JSON object.', param: '' };
  const input = body.input;
  const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((i) => typeof i === 'string') ? (input as string[]) : null;
  if (inputs === null || inputs.length === 0) return { ok: false, message: "'input' must be a string or a non-empty array of strings.", param: 'input' };
  const encoding = body.encoding_format === 'base64' ? 'base64' : 'float';
  const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, EMBEDDING_DIMENSIONS) : EMBEDDING_DIMENSIONS;
  return { ok: true, model: typeof body.model === 'string' ? body.model : null, inputs, encoding, dimensions };
}

/** Serves `POST /v1/embeddings`. */
export async function handleOpenAiEmbeddings(req: UpstreamRequest, res: ServerResponse): Promise<void> {
  const headers = { 'x-request-id': providerId('req_', 32), 'openai-version': '2020-10-01', 'openai-organization': 'higgs-demo' };
  if (!openAiAuthorized(req, res, headers)) return;
  const parsed = parseEmbeddingsRequest(req.json.ok ? req.json.value : null);
  if (!parsed.ok) {
    sendJson(res, 400, headers, openAiError(parsed.message, 'invalid_request_error', null, parsed.param || null));
    return;
  }
  if (parsed.model === null) {
    sendJson(res, 400, headers, openAiError('you must provide a model parameter', 'invalid_request_error', null, 'model'));
    return;
  }
  sendJson(res, 200, headers, buildEmbeddings(parsed.model, parsed.inputs, parsed.encoding, parsed.dimensions));
}
