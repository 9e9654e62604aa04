import type { ToolDefinition } from '../types.ts';

/** The attribution tools. */
export const attributionTools: readonly ToolDefinition[] = [];
