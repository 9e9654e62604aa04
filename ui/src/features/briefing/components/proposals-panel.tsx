import type { Proposal } from '@higgs/schema';
import { useEffect, useState } from 'react';
import { Alert } from '../../../components/ui/alert.tsx';
import { Badge } from '../../../components/ui/badge.tsx';
import { Button } from '../../../components/ui/button.tsx';
import { Card, CardContent, CardHeader, CardTitle } from '../../../components/ui/card.tsx';
import type { ApiClient } from '../../../lib/api-client.ts';
import { argsHash } from '../../../lib/args-hash.ts';
import { ApiError, toApiError } from '../../../lib/errors.ts';
import { approveProposal, rejectProposal } from '../api/briefing-queries.ts';
import { formatAgo } from '../format.ts';

interface Props {
  api: ApiClient;
  proposals: Proposal[] | undefined;
  error: ApiError | undefined;
  onSelectFinding: (findingId: string) => void;
  onDecided: () => void;
  now: number;
}

interface Decision {
  proposal: Proposal;
  verdict: 'approved' | 'rejected';
  /** the executed action's result, when approved */
  result: Record<string, unknown> | null;
}

/** What the agent proposed and only a human may execute. */
export function ProposalsPanel({ api, proposals, error, onSelectFinding, onDecided, now }: Props) {
  const [decisions, setDecisions] = useState<Decision[]>([]);
  const decided = new Set(decisions.map((d) => d.proposal.id));
  const visible = proposals?.filter((p) => !decided.has(p.id));

  const onDecidedOne = (decision: Decision) => {
    setDecisions((prev) => [decision, ...prev].slice(0, 5));
    onDecided();
  };

  return (
    <Card aria-labelledby="proposals-title">
      <CardHeader>
        <CardTitle id="proposals-title">Pending proposals</CardTitle>
        {visible !== undefined && <span className="text-xs text-muted-foreground">{visible.length}</span>}
      </CardHeader>
      <CardContent className="space-y-2">
        {error !== undefined && (
          <Alert tone="error">
            Could not load proposals — <code className="font-mono text-xs">{error.code}</code>: {error.message}
          </Alert>
        )}
        {visible === undefined ? (
          error === undefined && <p className="text-sm text-muted-foreground">Loading proposals…</p>
        ) : visible.length === 0 ? (
          <p className="text-sm text-muted-foreground">No pending proposals. Ask the agent what to do about a finding.</p>
        ) : (
          visible.map((proposal) => (
            <ProposalCard
              key={proposal.id}
              api={api}
              proposal={proposal}
              now={now}
              onSelectFinding={onSelectFinding}
              onDecided={onDecidedOne}
            />
          ))
        )}
        {decisions.length > 0 && (
          <ul aria-label="Recent decisions" className="space-y-1 border-t pt-2">
            {decisions.map((d) => (
              <li key={d.proposal.id} data-testid="decision" className="text-xs text-muted-foreground">
                <Badge tone={d.verdict === 'approved' ? 'success' : 'neutral'} className="mr-1.5">
                  {d.verdict}
                </Badge>
                {d.proposal.title}
                {d.result !== null && <span className="ml-1.5 font-mono"> → {summarizeResult(d.result)}</span>}
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

interface CardProps {
  api: ApiClient;
  proposal: Proposal;
  now: number;
  onSelectFinding: (findingId: string) => void;
  onDecided: (decision: Decision) => void;
}

/**
 * One proposal. The approval is bound to the hash this card computes from the
 * arguments it displays, not to the hash the tenant sent: if the two differ the
 * card says so and will not approve, and if the tenant's stored arguments
 * differ from the displayed ones the tenant refuses.
 */
function ProposalCard({ api, proposal, now, onSelectFinding, onDecided }: CardProps) {
  const [shownHash, setShownHash] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);

  useEffect(() => {
    let live = true;
    argsHash(proposal.tool, proposal.args).then(
      (hash) => live && setShownHash(hash),
      // Web Crypto exists only in a secure context (https, or http on localhost)
      () => live && setFailure(new ApiError('INSECURE_CONTEXT', 'cannot hash the arguments here: open the Briefing over https or on localhost', null)),
    );
    return () => {
      live = false;
    };
  }, [proposal.tool, proposal.args]);

  const hashMatches = shownHash !== null && shownHash === proposal.argsHash;

  async function decide(verdict: Decision['verdict']) {
    setBusy(true);
    setFailure(null);
    try {
      if (verdict === 'approved') {
        if (shownHash === null) return;
        onDecided({ proposal, verdict, result: (await approveProposal(api, proposal, shownHash)).result });
      } else {
        await rejectProposal(api, proposal, '');
        onDecided({ proposal, verdict, result: null });
      }
    } catch (err) {
      setFailure(toApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <article
      data-testid="proposal"
      data-proposal-id={proposal.id}
      aria-labelledby={`proposal-${proposal.id}-title`}
      className="rounded-md border bg-background/40 p-2.5"
    >
      <div className="flex items-start justify-between gap-2">
        <h3 id={`proposal-${proposal.id}-title`} className="font-medium leading-snug">
          {proposal.title}
        </h3>
        <Badge tone="info" className="font-mono normal-case tracking-normal">
          {proposal.tool}
        </Badge>
      </div>
      <p className="mt-1 text-sm text-muted-foreground">{proposal.rationale}</p>
      <p className="mt-1 text-xs text-muted-foreground">
        Proposed by <span className="text-foreground/80">{proposal.proposedBy}</span>{' '}
        <time dateTime={proposal.createdAt} title={proposal.createdAt}>
          {formatAgo(proposal.createdAt, now)}
        </time>
        {proposal.findingId !== null && (
          <>
            {' · '}
            <button
              type="button"
              className="rounded-sm underline decoration-dotted hover:text-foreground focus-visible:outline-2 focus-visible:outline-ring"
              onClick={() => onSelectFinding(proposal.findingId ?? '')}
            >
              finding {proposal.findingId}
            </button>
          </>
        )}
      </p>
      <pre
        aria-label="Exact arguments to be executed"
        className="mt-2 max-h-40 overflow-auto rounded-sm border bg-background p-2 font-mono text-xs leading-relaxed"
      >
        {JSON.stringify(proposal.args, null, 2)}
      </pre>
      <p className="mt-1 truncate font-mono text-[11px] text-muted-foreground" title={shownHash ?? undefined}>
        args hash {shownHash === null ? '…' : shownHash.slice(0, 16)}
        {shownHash !== null && (hashMatches ? ' ✓ matches the proposal' : '')}
      </p>
      {shownHash !== null && !hashMatches && (
        <Alert tone="error" className="mt-2">
          The arguments shown do not hash to the proposal&apos;s argsHash; approving is disabled. Ask the agent to propose it again.
        </Alert>
      )}
      {failure !== null && (
        <Alert tone="error" className="mt-2">
          <code className="font-mono text-xs">{failure.code}</code>: {failure.message}
        </Alert>
      )}
      <div className="mt-2 flex gap-2">
        <Button
          data-testid="approve"
          size="sm"
          disabled={busy || !hashMatches}
          aria-label={`Approve: ${proposal.title}`}
          onClick={() => void decide('approved')}
        >
          Approve
        </Button>
        <Button
          data-testid="reject"
          size="sm"
          variant="outline"
          disabled={busy}
          aria-label={`Reject: ${proposal.title}`}
          onClick={() => void decide('rejected')}
        >
          Reject
        </Button>
      </div>
    </article>
  );
}

/** The executed action's result in a few words: the rule or quarantine it created. */
function summarizeResult(result: Record<string, unknown>): string {
  for (const key of ['rule', 'quarantine'] as const) {
    const value = result[key];
    if (typeof value === 'object' && value !== null && 'id' in value) return `${key} ${String(value.id)}`;
  }
  return 'done';
}
