import type { ToolDefinition } from '../types.ts';

/** The knowledge tools. */
export const knowledgeTools: readonly ToolDefinition[] = [];
