import type { Principal, Role, ToolName } from '@higgs/schema';
import type { z } from 'zod';
import type { ToolErrorCode } from './errors.ts';
import type { HiggsServices } from './services.ts';

export interface ToolContext {
  principal: Principal;
  services: HiggsServices;
}

/** One operation, defined once: MCP, REST and the agent all serve it from here. */
export interface ToolDefinition<N extends ToolName = ToolName> {
  name: N;
  title: string;
  /** written for a model and a human alike */
  description: string;
  input: z.ZodType;
  output: z.ZodType;
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  /** least human role allowed to execute directly */
  role: Role;
  handler: (input: never, ctx: ToolContext) => Promise<unknown>;
}

export type ToolCallResult =
  | { ok: true; output: unknown }
  | { ok: false; error: { code: ToolErrorCode; message: string } };

export interface ToolRegistry {
  list(): readonly ToolDefinition[];
  get(name: string): ToolDefinition | undefined;
  /**
   * Validates the input, checks the principal's role (the agent principal may
   * only read and propose), runs the handler and validates its output.
   * Never throws for caller errors; internal faults come back as code INTERNAL.
   */
  call(name: string, rawArgs: unknown, principal: Principal): Promise<ToolCallResult>;
}
