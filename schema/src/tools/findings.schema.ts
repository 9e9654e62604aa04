/**
 * Tool contracts of the findings area, spread into `ToolContracts` (tools.schema.ts).
 * Add a tool here with its input and output schemas; its definition goes in
 * tools/src/definitions/findings-tools.ts and its service in tools/src/services/findings.ts.
 */
export const findingsToolContracts = {} as const;
