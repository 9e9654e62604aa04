import type { ToolDefinition } from '../types.ts';

/** The security tools. */
export const securityTools: readonly ToolDefinition[] = [];
