import { defineTool } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

const DESTRUCTIVE = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false } as const;

/**
 * The tools that change what the scanners enforce. A human with the role runs
 * them directly; the agent may only propose them (propose_action). Each service
 * writes its own audit record.
 */
export const enforcementTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'add_inline_rule',
    title: 'Add inline rule',
    description:
      'Create an active enforcement rule the scanners apply to every matching LLM or MCP call within seconds: '
      + '`block` (the caller gets a provider-shaped error), `redact` (the matched text is replaced) or `alert`. '
      + '`match` fields are ANDed; at least one is required. Returns the created rule. Requires the security role; '
      + 'the agent must use propose_action instead. Prefer block_from_finding when a finding already describes the traffic.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.addInlineRule(ctx, input),
  }),
  defineTool({
    name: 'disable_rule',
    title: 'Disable rule',
    description:
      'Disable an inline rule by id (from list_rules) so the scanners stop applying it with their next policy, within '
      + 'seconds; the rule stays listed with `includeDisabled: true` and in the audit trail. Give the reason. Returns the '
      + 'rule as it is now. Requires the security role; the agent must use propose_action instead.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.disableRule(ctx, input),
  }),
  defineTool({
    name: 'block_from_finding',
    title: 'Block from finding',
    description:
      'Turn a finding into an active block rule across all apps: the rule matches the finding\'s pattern (its PII '
      + 'type, injection score, host or model) so the next matching call is refused by the scanner. Returns the '
      + 'created rule. Requires the security role; the agent must use propose_action instead.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.blockFromFinding(ctx, input),
  }),
  defineTool({
    name: 'quarantine_namespace',
    title: 'Quarantine namespace',
    description:
      'Cut every workload in a Kubernetes namespace off from AI providers: new connections fail at once and open '
      + 'ones are dropped, until the quarantine is released. Far broader than a rule — use it for an active '
      + 'compromise, not a single bad prompt. Returns the quarantine record. Requires the security role; the agent '
      + 'must use propose_action instead.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.quarantineNamespace(ctx, input),
  }),
];
