import { ToolContracts, type Role, type ToolArgs, type ToolName, type ToolOutput } from '@higgs/schema';
import type { z } from 'zod';
import type { ToolContext, ToolDefinition } from './types.ts';

/**
 * Binds a handler to its contract in `@higgs/schema`: the input and output
 * schemas always come from `ToolContracts`, so a definition cannot drift from
 * what the UI and the agent parse.
 */
export function defineTool<N extends ToolName>(def: {
  name: N;
  title: string;
  description: string;
  annotations: ToolDefinition['annotations'];
  role: Role;
  handler: (input: ToolArgs<N>, ctx: ToolContext) => Promise<ToolOutput<N>>;
}): ToolDefinition<N> {
  const contract: { input: z.ZodType; output: z.ZodType } = ToolContracts[def.name];
  return { ...def, input: contract.input, output: contract.output };
}

/** Read-only, idempotent, closed world: what every query tool declares. */
export const READ_ANNOTATIONS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
