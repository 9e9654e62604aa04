import { defineTool, READ_ANNOTATIONS } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

const DESTRUCTIVE = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false } as const;

/** The kernel tools: session kill, quarantine release and the quarantine history. */
export const kernelTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'kill_session',
    title: 'Kill session',
    description:
      'Terminate one live AI session (a session id from replay_session, a finding or the briefing): the scanners reset '
      + 'every open connection carrying it, in the proxy and in the kernel, and refuse its further requests with a '
      + 'provider-shaped error. Other sessions of the same workload keep running. Narrower than quarantine_namespace; '
      + 'use it to stop one runaway or hijacked agent. Repeating the order changes nothing. Requires the security role; '
      + 'the agent must use propose_action instead.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.killSession(ctx, input),
  }),
  defineTool({
    name: 'release_quarantine',
    title: 'Release quarantine',
    description:
      'Lift the active quarantine of a namespace (give the namespace or the quarantine id from list_quarantines): its '
      + 'workloads may reach AI providers again within seconds. Fails with NOT_FOUND when nothing is quarantined. '
      + 'Requires the security role; the agent must use propose_action instead.',
    annotations: DESTRUCTIVE,
    role: 'security',
    handler: (input, ctx) => ctx.services.releaseQuarantine(ctx, input),
  }),
  defineTool({
    name: 'list_quarantines',
    title: 'List quarantines',
    description:
      'List namespace quarantines, active and released (or only active ones), oldest first: who ordered each and why, '
      + 'when, and who released it and why. Use it before release_quarantine, or to answer "what is cut off and since when".',
    annotations: READ_ANNOTATIONS,
    role: 'viewer',
    handler: (input, ctx) => ctx.services.listQuarantines(ctx, input),
  }),
];
