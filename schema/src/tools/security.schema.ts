/**
 * Tool contracts of the security area, spread into `ToolContracts` (tools.schema.ts).
 * Add a tool here with its input and output schemas; its definition goes in
 * tools/src/definitions/security-tools.ts and its service in tools/src/services/security.ts.
 */
export const securityToolContracts = {} as const;
