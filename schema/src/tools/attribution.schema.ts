/**
 * Tool contracts of the attribution area, spread into `ToolContracts` (tools.schema.ts).
 * Add a tool here with its input and output schemas; its definition goes in
 * tools/src/definitions/attribution-tools.ts and its service in tools/src/services/attribution.ts.
 */
export const attributionToolContracts = {} as const;
