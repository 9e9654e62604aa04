import type { Finding } from '@higgs/schema';
import { useState } from 'react';
import { Alert } from '../../../components/ui/alert.tsx';
import { Badge } from '../../../components/ui/badge.tsx';
import { Button } from '../../../components/ui/button.tsx';
import { Card, CardContent, CardHeader, CardTitle } from '../../../components/ui/card.tsx';
import type { ApiClient } from '../../../lib/api-client.ts';
import { cn } from '../../../lib/cn.ts';
import { toApiError, type ApiError } from '../../../lib/errors.ts';
import { runSuggestedAction, type ActionOutcome, type NeedsDecisionItem, type SuggestedActionValue } from '../api/briefing-queries.ts';
import { formatAgo, joinPresent, severityTone } from '../format.ts';

interface Props {
  api: ApiClient;
  items: NeedsDecisionItem[] | undefined;
  selectedFindingId: string | null;
  onSelect: (findingId: string) => void;
  /** an action changed the tenant's state: refetch what shows it */
  onActed: () => void;
  now: number;
}

type RowState =
  | { phase: 'idle' }
  | { phase: 'confirm' }
  | { phase: 'running' }
  | { phase: 'done'; outcome: ActionOutcome }
  | { phase: 'failed'; error: ApiError };

/** Open findings, most severe first, each with the one block its category calls for. */
export function NeedsDecision({ api, items, selectedFindingId, onSelect, onActed, now }: Props) {
  const [rows, setRows] = useState<Record<string, RowState>>({});
  const setRow = (id: string, state: RowState) => setRows((prev) => ({ ...prev, [id]: state }));

  async function act(finding: Finding, action: SuggestedActionValue) {
    setRow(finding.id, { phase: 'running' });
    try {
      const outcome = await runSuggestedAction(api, finding, action);
      setRow(finding.id, { phase: 'done', outcome });
      onActed();
    } catch (err) {
      setRow(finding.id, { phase: 'failed', error: toApiError(err) });
    }
  }

  return (
    <Card aria-labelledby="needs-decision-title" className="min-h-0">
      <CardHeader>
        <CardTitle id="needs-decision-title">Needs a decision</CardTitle>
        {items !== undefined && <span className="text-xs text-muted-foreground">{items.length} open</span>}
      </CardHeader>
      <CardContent className="p-0">
        {items === undefined ? (
          <p className="p-3 text-sm text-muted-foreground">Loading findings…</p>
        ) : items.length === 0 ? (
          <p className="p-3 text-sm text-muted-foreground">Nothing needs a decision: no open findings.</p>
        ) : (
          <ul className="divide-y">
            {items.map(({ finding, suggestedAction }) => {
              const state = rows[finding.id] ?? { phase: 'idle' };
              const selected = finding.id === selectedFindingId;
              const where = joinPresent([finding.evidence.namespace, finding.evidence.app], ' / ');
              const model = joinPresent([finding.evidence.provider, finding.evidence.model], ' · ');
              return (
                <li
                  key={finding.id}
                  data-testid="finding-row"
                  data-finding-id={finding.id}
                  data-category={finding.category}
                  aria-current={selected ? 'true' : undefined}
                  className={cn('px-3 py-2', selected && 'bg-primary/10 shadow-[inset_2px_0_0_var(--color-primary)]')}
                >
                  <div className="flex items-start gap-3">
                    <Badge tone={severityTone[finding.severity]} className="mt-0.5 w-16 justify-center">
                      {finding.severity}
                    </Badge>
                    <div className="min-w-0 flex-1">
                      <button
                        type="button"
                        onClick={() => onSelect(finding.id)}
                        aria-pressed={selected}
                        aria-label={`${finding.title}: select as the chat's context`}
                        className="block max-w-full truncate text-left font-medium hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-ring rounded-sm"
                      >
                        {finding.title}
                      </button>
                      <div className="mt-0.5 flex flex-wrap gap-x-3 gap-y-0.5 text-xs text-muted-foreground">
                        <span className="font-medium uppercase tracking-wide text-foreground/70">{finding.category}</span>
                        {where !== null && <span title="namespace / app">{where}</span>}
                        {model !== null && <span title="provider · model">{model}</span>}
                        <span className="tabular-nums">×{finding.count}</span>
                        <time dateTime={finding.lastSeen} title={finding.lastSeen}>
                          last seen {formatAgo(finding.lastSeen, now)}
                        </time>
                      </div>
                    </div>
                    {suggestedAction !== null ? (
                      <Button
                        data-testid="finding-action"
                        size="sm"
                        variant={state.phase === 'done' ? 'secondary' : 'danger'}
                        // once applied, a second press would only create a duplicate rule or quarantine
                        disabled={state.phase !== 'idle' && state.phase !== 'failed'}
                        aria-expanded={state.phase === 'confirm'}
                        onClick={() => setRow(finding.id, { phase: 'confirm' })}
                      >
                        {state.phase === 'running' ? 'Applying…' : state.phase === 'done' ? `${suggestedAction.label} ✓` : suggestedAction.label}
                      </Button>
                    ) : (
                      <span className="text-xs text-muted-foreground">no automatic action</span>
                    )}
                  </div>
                  {suggestedAction !== null && state.phase === 'confirm' && (
                    <ConfirmAction
                      action={suggestedAction}
                      onConfirm={() => void act(finding, suggestedAction)}
                      onCancel={() => setRow(finding.id, { phase: 'idle' })}
                    />
                  )}
                  {state.phase === 'done' && <OutcomeNote outcome={state.outcome} />}
                  {state.phase === 'failed' && (
                    <Alert tone="error" className="mt-2 ml-19">
                      {suggestedAction?.label} failed — <code className="font-mono text-xs">{state.error.code}</code>: {state.error.message}
                    </Alert>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function ConfirmAction({ action, onConfirm, onCancel }: { action: SuggestedActionValue; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div
      role="group"
      aria-label={`Confirm: ${action.label}`}
      className="mt-2 ml-19 flex flex-wrap items-center gap-2 rounded-md border border-destructive/40 bg-destructive/5 px-3 py-2 text-sm"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <span className="min-w-0 flex-1">
        <span className="font-medium">{action.label}?</span> <span className="text-muted-foreground">{action.effect}</span>
      </span>
      <Button data-testid="finding-action-confirm" size="sm" variant="destructive" autoFocus onClick={onConfirm}>
        Confirm
      </Button>
      <Button size="sm" variant="ghost" onClick={onCancel}>
        Cancel
      </Button>
    </div>
  );
}

function OutcomeNote({ outcome }: { outcome: ActionOutcome }) {
  return (
    <Alert tone="success" data-testid="finding-action-result" className="mt-2 ml-19">
      {outcome.kind === 'rule' ? (
        <>
          Rule <span className="font-medium">{outcome.rule.name}</span> is active ({outcome.rule.action}),{' '}
          <code className="font-mono text-xs text-muted-foreground">{outcome.rule.id}</code>
        </>
      ) : outcome.kind === 'quarantine' ? (
        <>
          Namespace <span className="font-medium">{outcome.quarantine.namespace}</span>{' '}
          {outcome.quarantine.active ? `quarantined (enforcement: ${outcome.quarantine.enforcement})` : 'released'},{' '}
          <code className="font-mono text-xs text-muted-foreground">{outcome.quarantine.id}</code>
        </>
      ) : (
        <>
          {outcome.tool}: <code className="font-mono text-xs text-muted-foreground">{outcome.target}</code>
        </>
      )}
    </Alert>
  );
}
