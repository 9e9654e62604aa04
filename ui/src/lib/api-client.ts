/**
 * The one client for the tenant's HTTP API. Tools run through
 * `POST /api/tools/:name` and are parsed with the same output contract the
 * tenant declares (`ToolContracts`), so schema drift surfaces as an error here
 * instead of as a broken view.
 *
 * @example
 * const api = createApiClient({ token });
 * const { rules } = await api.callTool('list_rules', {});
 */
import { ApiError as ApiErrorBody, ChatRequest, Principal, ToolContracts } from '@higgs/schema';
import type { ChatEvent, ToolInput, ToolName, ToolOutput } from '@higgs/schema';
import { z } from 'zod';
import { ApiError, toApiError } from './errors.ts';
import { readChatEvents } from './ndjson.ts';

export interface ApiClientOptions {
  /** the admin token from the launcher URL; sent as `Authorization: Bearer` */
  token: string;
  /** origin of the tenant; defaults to the page's own origin */
  baseUrl?: string;
  /** injectable for tests */
  fetch?: typeof fetch;
  /** called once per 401, so the page can forget the token and ask for a new one */
  onUnauthorized?: (error: ApiError) => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/**
 * Body of `GET /api/me`. The brief specifies `{ principal }`; the tenant's route
 * currently answers with the bare Principal. Both are accepted until the shape
 * is pinned in @higgs/schema (then this becomes that one contract).
 */
export const MeResponse = z.union([
  z.object({ principal: Principal }),
  Principal.transform((principal) => ({ principal })),
]);
export type MeResponse = z.output<typeof MeResponse>;

export type ChatRequestInput = z.input<typeof ChatRequest>;

export interface ApiClient {
  /** Runs one tool; resolves with its output parsed by the tool's contract, rejects with `ApiError`. */
  callTool<N extends ToolName>(name: N, args: ToolInput<N>, options?: RequestOptions): Promise<ToolOutput<N>>;
  /** `GET /api/me`: who the token belongs to. */
  me(options?: RequestOptions): Promise<MeResponse>;
  /** `POST /api/agent/chat`: the agent's answer as events, yielded as they stream in. */
  chat(request: ChatRequestInput, options?: RequestOptions): AsyncGenerator<ChatEvent>;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');

  async function send(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw toApiError(err);
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (error.isUnauthorized) options.onUnauthorized?.(error);
      throw error;
    }
    return response;
  }

  async function parseJson<T>(response: Response, contract: z.ZodType<T, unknown>, what: string): Promise<T> {
    let json: unknown;
    try {
      json = await response.json();
    } catch (cause) {
      throw new ApiError('BAD_RESPONSE', `${what} did not answer with JSON`, response.status, { cause });
    }
    const parsed = contract.safeParse(json);
    if (!parsed.success) {
      throw new ApiError('BAD_RESPONSE', `${what} answered with a body that does not match its contract`, response.status, {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  return {
    async callTool(name, args, requestOptions = {}) {
      const response = await send('POST', `/api/tools/${encodeURIComponent(name)}`, args, requestOptions.signal);
      const contract = ToolContracts[name].output as unknown as z.ZodType<ToolOutput<typeof name>>;
      return parseJson(response, contract, `tool ${name}`);
    },

    async me(requestOptions = {}) {
      const response = await send('GET', '/api/me', undefined, requestOptions.signal);
      return parseJson(response, MeResponse, '/api/me');
    },

    async *chat(request, requestOptions = {}) {
      const response = await send('POST', '/api/agent/chat', request, requestOptions.signal);
      if (response.body === null) throw new ApiError('BAD_RESPONSE', 'the agent answered without a body', response.status);
      try {
        yield* readChatEvents(response.body);
      } catch (err) {
        throw toApiError(err);
      }
    },
  };
}

/** An error response as ApiError: the tenant's `{error:{code,message}}` when present. */
async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: a proxy or a crashed server answered; keep the status only
  }
  const body = ApiErrorBody.safeParse(json);
  if (body.success) return new ApiError(body.data.error.code, body.data.error.message, response.status);
  return new ApiError('HTTP_ERROR', `the tenant answered HTTP ${response.status}`, response.status);
}
