import type { ToolDefinition } from '../types.ts';

/** The findings tools. */
export const findingsTools: readonly ToolDefinition[] = [];
