import type { Proposal, ProposableTool } from '@higgs/schema';
import { argsHash } from '../args-hash.ts';
import { defineTool } from '../define-tool.ts';
import { ToolError } from '../errors.ts';
import { principalKind, roleAllows } from '../roles.ts';
import type { ProposalCompletion, ProposalDecision } from '../services.ts';
import type { ToolContext, ToolDefinition } from '../types.ts';
import { describeZodError } from '../zod-message.ts';

export interface ProposalToolOptions {
  /** the definition a proposal would run */
  resolve: (tool: ProposableTool) => ToolDefinition;
  proposalTtlMs: number;
  now: () => Date;
}

/**
 * propose_action, approve_action and reject_action: the agent proposes, a
 * different human with the proposed tool's role approves, and approval runs
 * exactly the arguments that were hashed.
 */
export function proposalTools({ resolve, proposalTtlMs, now }: ProposalToolOptions): readonly ToolDefinition[] {
  /** The proposal, if this human may decide it: the proposed tool's least role, and never their own to approve. */
  async function loadDecidable(ctx: ToolContext, proposalId: string): Promise<{ proposal: Proposal; target: ToolDefinition }> {
    const proposal = await ctx.services.getProposal(ctx, proposalId);
    if (!proposal) throw new ToolError('NOT_FOUND', `no proposal ${proposalId}`);
    const target = resolve(proposal.tool);
    if (principalKind(ctx.principal) !== 'human' || !roleAllows(ctx.principal.role, target.role)) {
      throw new ToolError('FORBIDDEN', `deciding a ${proposal.tool} proposal needs a human with the ${target.role} role`);
    }
    if (proposal.status !== 'pending') throw new ToolError('CONFLICT', `proposal ${proposal.id} is already ${proposal.status}`);
    return { proposal, target };
  }

  async function decide(ctx: ToolContext, decision: ProposalDecision): Promise<Proposal> {
    const decided = await ctx.services.decideProposal(ctx, decision);
    if (!decided) throw new ToolError('CONFLICT', `proposal ${decision.id} was decided by someone else first`);
    return decided;
  }

  /** Records the outcome of a proposal this call claimed; nobody else completes it. */
  async function complete(ctx: ToolContext, completion: ProposalCompletion): Promise<Proposal> {
    const completed = await ctx.services.completeProposal(ctx, completion);
    if (!completed) throw new Error(`claimed proposal ${completion.id} was completed by someone else`);
    return completed;
  }

  return [
    defineTool({
      name: 'propose_action',
      title: 'Propose action',
      description:
        'Propose a destructive action (add_inline_rule, block_from_finding or quarantine_namespace) for a human to '
        + 'approve, with a short title and the rationale and evidence behind it. This is how the agent acts: it never '
        + 'runs those tools itself. `args` must be valid arguments for `tool` (for a finding, use the suggestedAction '
        + 'from get_finding). Returns the pending proposal with its id, argsHash and expiry; nothing is enforced '
        + 'until a human approves it.',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      role: 'viewer',
      handler: async (input, ctx) => {
        const target = resolve(input.tool);
        const parsed = target.input.safeParse(input.args);
        if (!parsed.success) {
          throw new ToolError('INVALID_INPUT', `args do not fit ${input.tool}: ${describeZodError(parsed.error, 'args')}`);
        }
        // Hash and store the parsed arguments (defaults applied): approval runs exactly what was hashed.
        const args = parsed.data as Record<string, unknown>;
        const proposal = await ctx.services.createProposal(ctx, {
          tool: input.tool,
          args,
          argsHash: argsHash(input.tool, args),
          title: input.title,
          rationale: input.rationale,
          findingId: input.findingId ?? null,
          expiresAt: new Date(now().getTime() + proposalTtlMs).toISOString(),
        });
        return { proposal };
      },
    }),
    defineTool({
      name: 'approve_action',
      title: 'Approve proposed action',
      description:
        'Approve a pending proposal and run it now, as you. Pass the proposal id and the argsHash you were shown: '
        + 'if the arguments changed since, the approval is refused. Only a human with the proposed tool\'s role may '
        + 'approve, never the proposer, and each proposal runs at most once. Returns the decided proposal and the '
        + 'tool\'s result (e.g. the created rule). This changes enforcement.',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      role: 'viewer', // the real bar is the proposed tool's role, checked per proposal
      handler: async (input, ctx) => {
        const { proposal, target } = await loadDecidable(ctx, input.proposalId);
        if (proposal.proposedBy === ctx.principal.id) {
          throw new ToolError('FORBIDDEN', 'a proposal must be approved by someone other than its proposer');
        }
        if (new Date(proposal.expiresAt).getTime() <= now().getTime()) {
          await ctx.services.decideProposal(ctx, { id: proposal.id, status: 'expired', result: null });
          throw new ToolError('EXPIRED', `proposal ${proposal.id} expired at ${proposal.expiresAt}`);
        }
        if (input.argsHash !== proposal.argsHash) {
          throw new ToolError('APPROVAL_MISMATCH', 'the arguments changed since you reviewed them; review the proposal again');
        }
        if (argsHash(proposal.tool, proposal.args) !== proposal.argsHash) {
          // The stored args no longer hash to the stored hash: never run them.
          throw new Error(`stored proposal ${proposal.id} does not match its argsHash`);
        }

        // Claim before running: of two approvals at the same moment only the winner runs the action.
        await decide(ctx, { id: proposal.id, status: 'approved', result: null });
        let result: Record<string, unknown>;
        try {
          const args = target.input.parse(proposal.args);
          result = target.output.parse(await target.handler(args as never, ctx)) as Record<string, unknown>;
        } catch (err) {
          const error = err instanceof ToolError
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL' as const, message: 'the approved action failed' };
          await complete(ctx, { id: proposal.id, status: 'failed', result: { error } });
          throw err;
        }
        return { proposal: await complete(ctx, { id: proposal.id, status: 'approved', result }), result };
      },
    }),
    defineTool({
      name: 'reject_action',
      title: 'Reject proposed action',
      description:
        'Reject a pending proposal so it can never run, with an optional reason that is kept with it. Needs a human '
        + 'with the proposed tool\'s role (a proposer may withdraw their own). Returns the rejected proposal. '
        + 'Enforcement is unchanged.',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      role: 'viewer', // the real bar is the proposed tool's role, checked per proposal
      handler: async (input, ctx) => {
        const { proposal } = await loadDecidable(ctx, input.proposalId);
        const decided = await decide(ctx, {
          id: proposal.id, status: 'rejected', result: input.reason ? { reason: input.reason } : null,
        });
        return { proposal: decided };
      },
    }),
  ];
}
