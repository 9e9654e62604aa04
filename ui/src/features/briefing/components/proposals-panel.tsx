import type { Proposal } from '@higgs/schema';
import { useState } from 'react';
import { Alert } from '../../../components/ui/alert.tsx';
import { Badge } from '../../../components/ui/badge.tsx';
import { Button } from '../../../components/ui/button.tsx';
import { Card, CardContent, CardHeader, CardTitle } from '../../../components/ui/card.tsx';
import type { ApiClient } from '../../../lib/api-client.ts';
import { toApiError, type ApiError } from '../../../lib/errors.ts';
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

/**
 * What the agent proposed and only a human may execute. Approve sends the hash
 * of exactly the arguments shown; a proposal whose stored arguments differ is
 * refused by the tenant.
 */
export function ProposalsPanel({ api, proposals, error, onSelectFinding, onDecided, now }: Props) {
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [failures, setFailures] = useState<Record<string, ApiError>>({});
  const [decisions, setDecisions] = useState<Decision[]>([]);
  const decided = new Set(decisions.map((d) => d.proposal.id));
  const visible = proposals?.filter((p) => !decided.has(p.id));

  async function decide(proposal: Proposal, verdict: Decision['verdict']) {
    setBusy((prev) => ({ ...prev, [proposal.id]: true }));
    setFailures(({ [proposal.id]: _dropped, ...rest }) => rest);
    try {
      const result = verdict === 'approved' ? (await approveProposal(api, proposal)).result : null;
      if (verdict === 'rejected') await rejectProposal(api, proposal, '');
      setDecisions((prev) => [{ proposal, verdict, result }, ...prev].slice(0, 5));
      onDecided();
    } catch (err) {
      setFailures((prev) => ({ ...prev, [proposal.id]: toApiError(err) }));
    } finally {
      setBusy((prev) => ({ ...prev, [proposal.id]: false }));
    }
  }

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
            <article
              key={proposal.id}
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
              <p className="mt-1 truncate font-mono text-[11px] text-muted-foreground" title={proposal.argsHash}>
                args hash {proposal.argsHash}
              </p>
              {failures[proposal.id] !== undefined && (
                <Alert tone="error" className="mt-2">
                  <code className="font-mono text-xs">{failures[proposal.id]?.code}</code>: {failures[proposal.id]?.message}
                </Alert>
              )}
              <div className="mt-2 flex gap-2">
                <Button
                  data-testid="approve"
                  size="sm"
                  disabled={busy[proposal.id] === true}
                  aria-label={`Approve: ${proposal.title}`}
                  onClick={() => void decide(proposal, 'approved')}
                >
                  Approve
                </Button>
                <Button
                  data-testid="reject"
                  size="sm"
                  variant="outline"
                  disabled={busy[proposal.id] === true}
                  aria-label={`Reject: ${proposal.title}`}
                  onClick={() => void decide(proposal, 'rejected')}
                >
                  Reject
                </Button>
              </div>
            </article>
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
                {d.result !== null && <span className="ml-1 font-mono">→ {summarizeResult(d.result)}</span>}
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
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
