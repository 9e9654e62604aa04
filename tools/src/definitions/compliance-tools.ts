import { defineTool } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

export const complianceTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'generate_compliance_pack',
    title: 'Generate compliance pack',
    description:
      'Build an evidence pack for an ISO-8601 time range (`from`, `to`): LLM calls per provider and how many were '
      + 'blocked, PII flows (type, namespace, app, provider, model, counts), the rules and quarantines in force, '
      + 'enforcement decisions and the audit trail, sealed with a sha256 digest. Stores the pack as an evidence record '
      + 'and returns it; enforcement is unchanged. Requires the compliance role.',
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    role: 'compliance',
    handler: (input, ctx) => ctx.services.generateCompliancePack(ctx, input),
  }),
];
