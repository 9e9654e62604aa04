/**
 * Tool contracts of the kernel area, spread into `ToolContracts` (tools.schema.ts).
 * Add a tool here with its input and output schemas; its definition goes in
 * tools/src/definitions/kernel-tools.ts and its service in tools/src/services/kernel.ts.
 */
export const kernelToolContracts = {} as const;
