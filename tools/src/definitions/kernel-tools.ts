import type { ToolDefinition } from '../types.ts';

/** The kernel tools. */
export const kernelTools: readonly ToolDefinition[] = [];
