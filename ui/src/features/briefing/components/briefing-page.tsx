import type { Proposal } from '@higgs/schema';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert } from '../../../components/ui/alert.tsx';
import { ErrorBoundary } from '../../../components/ui/error-boundary.tsx';
import { usePoll } from '../../../hooks/use-poll.ts';
import { useApiClient } from '../../../lib/api-context.tsx';
import { getMe, getSummary, listActiveRules, listPendingProposals } from '../api/briefing-queries.ts';
import { BriefingHeader } from './briefing-header.tsx';
import { CategoryStrip } from './category-strip.tsx';
import { ChatStrip } from './chat-strip.tsx';
import { HeadlineCounts } from './headline-counts.tsx';
import { NeedsDecision } from './needs-decision.tsx';
import { ProposalsPanel } from './proposals-panel.tsx';
import { RulesPanel } from './rules-panel.tsx';

const SUMMARY_POLL_MS = 2_000;
const LIST_POLL_MS = 5_000;
// the principal does not change while the token is the same; refetch rarely in case the role is changed
const ME_POLL_MS = 60_000;

/** The one page: what Higgs found, what needs a decision, and an agent to ask. */
export function BriefingPage({ onSignOut }: { onSignOut: () => void }) {
  const api = useApiClient();
  const me = usePoll(useCallback((signal: AbortSignal) => getMe(api, signal), [api]), ME_POLL_MS);
  const summary = usePoll(useCallback((signal: AbortSignal) => getSummary(api, signal), [api]), SUMMARY_POLL_MS);
  const proposals = usePoll(useCallback((signal: AbortSignal) => listPendingProposals(api, signal), [api]), LIST_POLL_MS);
  const rules = usePoll(useCallback((signal: AbortSignal) => listActiveRules(api, signal), [api]), LIST_POLL_MS);
  const [selectedFindingId, setSelectedFindingId] = useState<string | null>(null);
  const [streamed, setStreamed] = useState<{ proposal: Proposal; receivedAt: number }[]>([]);
  const now = useNow(1_000);

  // the summary polls fastest: when its counts move, the lists behind them are stale
  const { refresh: refreshProposals } = proposals;
  const { refresh: refreshRules } = rules;
  const counts = summary.data?.counts;
  useEffect(refreshProposals, [counts?.pendingProposals, refreshProposals]);
  useEffect(refreshRules, [counts?.activeRules, counts?.enforcementActions, refreshRules]);

  const refreshAll = useCallback(() => {
    summary.refresh();
    refreshProposals();
    refreshRules();
  }, [summary.refresh, refreshProposals, refreshRules]);

  const onProposal = useCallback(
    (proposal: Proposal) => {
      setStreamed((prev) => [...prev.filter((s) => s.proposal.id !== proposal.id), { proposal, receivedAt: Date.now() }]);
      refreshAll();
    },
    [refreshAll],
  );

  // a proposal streamed by the agent shows at once; the list takes over once it has been fetched since
  const pending = useMemo(() => {
    if (proposals.data === undefined) return streamed.length > 0 ? streamed.map((s) => s.proposal) : undefined;
    const listed = new Set(proposals.data.map((p) => p.id));
    const fresh = streamed.filter((s) => !listed.has(s.proposal.id) && s.receivedAt > (proposals.updatedAt ?? 0));
    return [...fresh.map((s) => s.proposal).reverse(), ...proposals.data];
  }, [proposals.data, proposals.updatedAt, streamed]);

  const items = summary.data?.needsDecision;
  const selectedTitle = items?.find((i) => i.finding.id === selectedFindingId)?.finding.title;
  const context = selectedFindingId === null ? null : { findingId: selectedFindingId, title: selectedTitle ?? selectedFindingId };

  return (
    <div className="flex min-h-screen flex-col">
      <ErrorBoundary region="Header">
        <BriefingHeader
          principal={me.data?.principal}
          updatedAt={summary.updatedAt}
          error={summary.error}
          now={now}
          onSignOut={onSignOut}
        />
      </ErrorBoundary>
      <main className="flex flex-1 flex-col gap-3 p-3">
        {summary.error !== undefined && (
          <Alert tone="error">
            Could not load the briefing — <code className="font-mono text-xs">{summary.error.code}</code>: {summary.error.message}.
            Retrying every {SUMMARY_POLL_MS / 1000} s.
          </Alert>
        )}
        <ErrorBoundary region="Headline counts">
          <HeadlineCounts counts={summary.data?.counts} />
        </ErrorBoundary>
        <ErrorBoundary region="Findings by category">
          <CategoryStrip byCategory={summary.data?.findingsByCategory} />
        </ErrorBoundary>
        <div className="grid flex-1 items-start gap-3 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
          <ErrorBoundary region="Needs a decision">
            <NeedsDecision
              api={api}
              items={items}
              selectedFindingId={selectedFindingId}
              onSelect={setSelectedFindingId}
              onActed={refreshAll}
              now={now}
            />
          </ErrorBoundary>
          <div className="flex min-w-0 flex-col gap-3">
            <ErrorBoundary region="Pending proposals">
              <ProposalsPanel
                api={api}
                proposals={pending}
                error={proposals.error}
                onSelectFinding={setSelectedFindingId}
                onDecided={refreshAll}
                now={now}
              />
            </ErrorBoundary>
            <ErrorBoundary region="Active rules">
              <RulesPanel rules={rules.data} error={rules.error} now={now} />
            </ErrorBoundary>
          </div>
        </div>
      </main>
      <div className="sticky bottom-0 z-10 bg-background/90 px-3 pb-3 pt-1 backdrop-blur">
        <ErrorBoundary region="Chat">
          <ChatStrip
            api={api}
            context={context}
            onClearContext={() => setSelectedFindingId(null)}
            onSelectFinding={setSelectedFindingId}
            onProposal={onProposal}
          />
        </ErrorBoundary>
      </div>
    </div>
  );
}

/** The current time, re-read every `intervalMs`, so "5s ago" labels advance. */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
