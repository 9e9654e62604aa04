import { ProposableTool, type Principal } from '@higgs/schema';
import { attributionTools } from './definitions/attribution-tools.ts';
import { complianceTools } from './definitions/compliance-tools.ts';
import { enforcementTools } from './definitions/enforcement-tools.ts';
import { findingsTools } from './definitions/findings-tools.ts';
import { kernelTools } from './definitions/kernel-tools.ts';
import { knowledgeTools } from './definitions/knowledge-tools.ts';
import { proposalTools } from './definitions/proposal-tools.ts';
import { readTools } from './definitions/read-tools.ts';
import { securityTools } from './definitions/security-tools.ts';
import { ToolError } from './errors.ts';
import { principalKind, roleAllows } from './roles.ts';
import type { HiggsServices } from './services.ts';
import type { ToolCallResult, ToolDefinition, ToolRegistry } from './types.ts';
import { describeZodError } from './zod-message.ts';

/** pino-shaped, so fastify's `app.log` can be passed as is. */
export interface ToolLogger {
  error(context: Record<string, unknown>, message: string): void;
}

export interface RegistryOptions {
  /** how long a proposal stays approvable; default 24 h */
  proposalTtlMs?: number;
  /** where internal faults are logged with their cause; default stderr */
  logger?: ToolLogger;
  /** the clock proposals are stamped and expired by */
  now?: () => Date;
}

const DEFAULT_PROPOSAL_TTL_MS = 24 * 60 * 60 * 1000;

const stderrLogger: ToolLogger = {
  error: (context, message) => console.error(message, context),
};

/**
 * The registry every surface serves from (MCP, REST, the agent): one
 * definition per tool in `ToolContracts`, bound to the tenant's services.
 *
 * @example
 * const registry = createRegistry(services, { logger: app.log });
 * const result = await registry.call('list_findings', { severity: 'high' }, principal);
 */
export function createRegistry(services: HiggsServices, options: RegistryOptions = {}): ToolRegistry {
  const logger = options.logger ?? stderrLogger;
  const definitions = buildDefinitions(options);
  const byName = new Map<string, ToolDefinition>(definitions.map((def) => [def.name, def]));

  async function call(name: string, rawArgs: unknown, principal: Principal): Promise<ToolCallResult> {
    const def = byName.get(name);
    if (!def) return failure('UNKNOWN_TOOL', `no tool named ${name}`);

    const refusal = refuse(def, principal);
    if (refusal) return failure('FORBIDDEN', refusal);

    const input = def.input.safeParse(rawArgs ?? {});
    if (!input.success) return failure('INVALID_INPUT', describeZodError(input.error));

    let raw: unknown;
    try {
      raw = await def.handler(input.data as never, { principal, services });
    } catch (err) {
      if (err instanceof ToolError) return failure(err.code, err.message);
      logger.error({ err, tool: name, principalId: principal.id, tenantId: principal.tenantId }, 'tool handler failed');
      return failure('INTERNAL', `${name} failed with an internal error`);
    }

    const output = def.output.safeParse(raw);
    if (!output.success) {
      logger.error(
        { tool: name, tenantId: principal.tenantId, issues: describeZodError(output.error) },
        'tool output does not match its contract',
      );
      return failure('INTERNAL', `${name} returned a result outside its contract`);
    }
    return { ok: true, output: output.data };
  }

  return {
    list: () => definitions,
    get: (name) => byName.get(name),
    call,
  };
}

/**
 * Every tool definition, in listing order. Exposed to the package (not its
 * index) so the remote registry serves the very same names and schemas.
 */
export function buildDefinitions(options: Pick<RegistryOptions, 'proposalTtlMs' | 'now'> = {}): ToolDefinition[] {
  const byName = new Map<string, ToolDefinition>();
  const resolve = (tool: ProposableTool): ToolDefinition => {
    const def = byName.get(tool);
    if (!def) throw new Error(`proposable tool ${tool} has no definition`);
    return def;
  };
  const definitions = [
    ...readTools,
    ...enforcementTools,
    ...complianceTools,
    ...findingsTools,
    ...attributionTools,
    ...securityTools,
    ...kernelTools,
    ...knowledgeTools,
    ...proposalTools({
      resolve,
      proposalTtlMs: options.proposalTtlMs ?? DEFAULT_PROPOSAL_TTL_MS,
      now: options.now ?? (() => new Date()),
    }),
  ];
  for (const def of definitions) byName.set(def.name, def);
  return definitions;
}

/** Why this principal may not call this tool, or null when it may. */
function refuse(def: ToolDefinition, principal: Principal): string | null {
  switch (principalKind(principal)) {
    case 'scanner':
      return 'the scanner principal may not call tools';
    case 'agent':
      if (def.annotations.readOnlyHint || def.name === 'propose_action') return null;
      if (isProposable(def.name)) {
        return `the agent may not run ${def.name}; call propose_action with tool "${def.name}" so a human can approve it`;
      }
      return `the agent may not call ${def.name}; it may call read tools and propose_action only`;
    case 'human':
      return roleAllows(principal.role, def.role) ? null : `${def.name} needs the ${def.role} role; you have ${principal.role}`;
  }
}

function isProposable(name: string): name is ProposableTool {
  return (ProposableTool.options as readonly string[]).includes(name);
}

function failure(code: ToolError['code'], message: string): ToolCallResult {
  return { ok: false, error: { code, message } };
}
