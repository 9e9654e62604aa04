import type { AgentRef, Proposal } from '@higgs/schema';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Badge } from '../../../components/ui/badge.tsx';
import { Button } from '../../../components/ui/button.tsx';
import { Input } from '../../../components/ui/input.tsx';
import type { ApiClient } from '../../../lib/api-client.ts';
import { cn } from '../../../lib/cn.ts';
import { toApiError } from '../../../lib/errors.ts';
import { applyChatEvent, failTurn, startTurn, type ChatTurn } from '../chat-state.ts';

interface Props {
  api: ApiClient;
  /** the selected finding: "this finding" in a question means it */
  context: { findingId: string; title: string } | null;
  onClearContext: () => void;
  onSelectFinding: (findingId: string) => void;
  /** the agent proposed an action: show it in the proposals panel at once */
  onProposal: (proposal: Proposal) => void;
}

/** "Ask the agent": the answer streams in as NDJSON events and renders as it arrives. */
export function ChatStrip({ api, context, onClearContext, onSelectFinding, onProposal }: Props) {
  const [turns, setTurns] = useState<ChatTurn[]>([]);
  const [message, setMessage] = useState('');
  const [streaming, setStreaming] = useState(false);
  const conversationId = useRef<string | undefined>(undefined);
  const abort = useRef<AbortController | null>(null);
  const transcript = useRef<HTMLDivElement>(null);
  const nextId = useRef(0);

  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => {
    transcript.current?.scrollTo({ top: transcript.current.scrollHeight });
  }, [turns]);

  async function ask(question: string) {
    const id = `turn-${nextId.current++}`;
    const findingId = context?.findingId ?? null;
    const update = (fn: (turn: ChatTurn) => ChatTurn) => setTurns((prev) => prev.map((t) => (t.id === id ? fn(t) : t)));
    setTurns((prev) => [...prev, startTurn(id, question, findingId)]);
    setStreaming(true);
    const ac = new AbortController();
    abort.current = ac;
    try {
      const events = api.chat(
        { message: question, conversationId: conversationId.current, context: findingId === null ? {} : { findingId } },
        { signal: ac.signal },
      );
      for await (const event of events) {
        if (event.type === 'start') conversationId.current = event.conversationId;
        if (event.type === 'proposal') onProposal(event.proposal);
        update((turn) => applyChatEvent(turn, event));
      }
      // a stream that ends without `done` or `error` was cut off
      update((turn) => (turn.status === 'streaming' ? failTurn(turn, 'the answer stream ended early') : turn));
    } catch (err) {
      const error = toApiError(err);
      if (error.code !== 'ABORTED') update((turn) => failTurn(turn, `${error.code}: ${error.message}`));
    } finally {
      setStreaming(false);
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const question = message.trim();
    if (question === '' || streaming) return;
    setMessage('');
    void ask(question);
  }

  return (
    <section aria-labelledby="chat-title" className="rounded-lg border bg-card shadow-[0_-8px_24px_-12px_rgb(0_0_0/0.6)]">
      <div className="flex items-center gap-2 border-b px-3 py-1.5">
        <h2 id="chat-title" className="text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
          Ask the agent
        </h2>
        {context !== null && (
          <span className="flex min-w-0 items-center gap-1 text-xs text-muted-foreground">
            about
            <Badge tone="info" className="max-w-80 truncate normal-case tracking-normal" title={context.title}>
              {context.title}
            </Badge>
            <button
              type="button"
              aria-label="Clear the chat's finding context"
              className="rounded-sm px-1 hover:text-foreground focus-visible:outline-2 focus-visible:outline-ring"
              onClick={onClearContext}
            >
              ×
            </button>
          </span>
        )}
      </div>
      {turns.length > 0 && (
        <div ref={transcript} aria-live="polite" className="max-h-64 space-y-3 overflow-y-auto px-3 py-2">
          {turns.map((turn) => (
            <Turn key={turn.id} turn={turn} onSelectFinding={onSelectFinding} />
          ))}
        </div>
      )}
      <form onSubmit={onSubmit} className="flex gap-2 p-2">
        <Input
          data-testid="chat-input"
          aria-label="Question for the agent"
          placeholder={context !== null ? 'Why does this finding matter? What should I do?' : 'Ask about your AI traffic, a finding, or what to block…'}
          value={message}
          maxLength={8000}
          onChange={(e) => setMessage(e.target.value)}
        />
        <Button data-testid="chat-send" type="submit" disabled={streaming || message.trim() === ''}>
          {streaming ? 'Answering…' : 'Send'}
        </Button>
      </form>
    </section>
  );
}

function Turn({ turn, onSelectFinding }: { turn: ChatTurn; onSelectFinding: (findingId: string) => void }) {
  return (
    <div className="space-y-1 text-sm">
      <p className="text-muted-foreground">
        <span className="mr-1.5 font-semibold text-foreground">You</span>
        {turn.question}
      </p>
      {turn.steps.length > 0 && (
        <ul aria-label="Tools the agent used" className="flex flex-wrap gap-1.5">
          {turn.steps.map((step, i) => (
            <li
              key={i}
              className={cn('font-mono text-[11px]', step.status === 'failed' ? 'text-destructive' : 'text-muted-foreground')}
            >
              {step.name} {step.status === 'running' ? '…' : step.status === 'ok' ? '✓' : '✗'}
            </li>
          ))}
        </ul>
      )}
      <div data-testid="chat-answer" data-status={turn.status} className="whitespace-pre-wrap leading-relaxed">
        <span className="mr-1.5 font-semibold text-primary">Agent</span>
        {turn.answer}
        {turn.status === 'streaming' && <span aria-hidden="true" className="ml-0.5 inline-block animate-pulse">▍</span>}
      </div>
      {turn.error !== null && (
        <p role="alert" className="text-xs text-destructive">
          {turn.error}
        </p>
      )}
      {turn.refs.length > 0 && (
        <ul aria-label="Referenced" className="flex flex-wrap gap-1.5">
          {turn.refs.map((ref) => (
            <li key={`${ref.kind}:${ref.id}`}>
              <RefChip refValue={ref} onSelectFinding={onSelectFinding} />
            </li>
          ))}
        </ul>
      )}
      {turn.proposals.length > 0 && (
        <p className="text-xs text-muted-foreground">
          Proposed {turn.proposals.map((p) => `“${p.title}”`).join(', ')}: review it under Pending proposals.
        </p>
      )}
      {turn.usage !== undefined && (
        <p data-testid="chat-usage" className="font-mono text-[11px] text-muted-foreground">
          {turn.usage.model} · {turn.usage.inputTokens} in / {turn.usage.outputTokens} out tokens
          {turn.usage.cacheReadTokens > 0 ? ` · ${turn.usage.cacheReadTokens} from cache` : ''}
        </p>
      )}
    </div>
  );
}

function RefChip({ refValue, onSelectFinding }: { refValue: AgentRef; onSelectFinding: (findingId: string) => void }) {
  const label = `${refValue.kind} ${refValue.id}`;
  const chip = 'inline-flex items-center rounded-full border px-2 py-px font-mono text-[11px]';
  if (refValue.kind === 'finding') {
    return (
      <button
        type="button"
        data-testid="chat-ref"
        aria-label={`Select finding ${refValue.id}`}
        className={cn(chip, 'border-primary/50 text-primary hover:bg-primary/10 focus-visible:outline-2 focus-visible:outline-ring')}
        onClick={() => onSelectFinding(refValue.id)}
      >
        {label}
      </button>
    );
  }
  return (
    <span data-testid="chat-ref" className={cn(chip, 'text-muted-foreground')}>
      {label}
    </span>
  );
}
