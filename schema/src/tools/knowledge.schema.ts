/**
 * Tool contracts of the knowledge area, spread into `ToolContracts` (tools.schema.ts).
 * Add a tool here with its input and output schemas; its definition goes in
 * tools/src/definitions/knowledge-tools.ts and its service in tools/src/services/knowledge.ts.
 */
export const knowledgeToolContracts = {} as const;
