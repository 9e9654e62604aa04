import { ApiError, type Principal } from '@higgs/schema';
import { TOOL_ERROR_CODES, type ToolErrorCode } from './errors.ts';
import { buildDefinitions, type ToolLogger } from './registry.ts';
import type { ToolCallResult, ToolDefinition, ToolRegistry } from './types.ts';
import { describeZodError } from './zod-message.ts';

export interface RemoteRegistryOptions {
  /** the tenant's base URL, e.g. http://127.0.0.1:7070 */
  baseUrl: string;
  /** bearer token; the tenant resolves it to the principal every call runs as */
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  logger?: ToolLogger;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A registry with the local definitions (names, schemas, annotations) whose
 * calls run on a remote tenant through `POST {baseUrl}/api/tools/:name`
 * (JSON arguments in, the tool's output or `{error:{code,message}}` out).
 * Authorization is the tenant's: the `principal` passed to `call` is not sent —
 * the token decides who acts. Used by the `higgs-mcp` stdio server for IDEs.
 */
export function createRemoteRegistry(options: RemoteRegistryOptions): ToolRegistry {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const logger = options.logger ?? { error: (context, message) => console.error(message, context) };
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  // Local handlers never run here: every call goes to the tenant.
  const definitions: ToolDefinition[] = buildDefinitions().map((def) => ({
    ...def,
    handler: () => Promise.reject(new Error(`${def.name} runs on the tenant; call it through the registry`)),
  }));
  const byName = new Map<string, ToolDefinition>(definitions.map((def) => [def.name, def]));

  async function call(name: string, rawArgs: unknown, _principal: Principal): Promise<ToolCallResult> {
    const def = byName.get(name);
    if (!def) return failure('UNKNOWN_TOOL', `no tool named ${name}`);
    const input = def.input.safeParse(rawArgs ?? {});
    if (!input.success) return failure('INVALID_INPUT', describeZodError(input.error));

    const url = new URL(`api/tools/${encodeURIComponent(name)}`, base);
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(input.data),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      logger.error({ err, tool: name, url: url.origin }, 'Higgs tenant unreachable');
      return failure('INTERNAL', `cannot reach Higgs at ${url.origin}`);
    }

    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) return remoteFailure(res.status, body);
    const output = def.output.safeParse(body);
    if (!output.success) {
      logger.error({ tool: name, status: res.status, issues: describeZodError(output.error) }, 'tenant answer outside the tool contract');
      return failure('INTERNAL', `${name}: the tenant answered outside the tool's contract`);
    }
    return { ok: true, output: output.data };
  }

  return { list: () => definitions, get: (name) => byName.get(name), call };
}

/** The tenant's error as a ToolCallResult: its own code when it is one of ours, else one inferred from the status. */
function remoteFailure(status: number, body: unknown): ToolCallResult {
  const parsed = ApiError.safeParse(body);
  const message = parsed.success ? parsed.data.error.message : `Higgs answered HTTP ${status}`;
  if (parsed.success && isToolErrorCode(parsed.data.error.code)) return failure(parsed.data.error.code, message);
  return failure(codeForStatus(status), message);
}

function codeForStatus(status: number): ToolErrorCode {
  if (status === 400 || status === 422) return 'INVALID_INPUT';
  if (status === 401 || status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  return 'INTERNAL';
}

function isToolErrorCode(code: string): code is ToolErrorCode {
  return (TOOL_ERROR_CODES as readonly string[]).includes(code);
}

function failure(code: ToolErrorCode, message: string): ToolCallResult {
  return { ok: false, error: { code, message } };
}
