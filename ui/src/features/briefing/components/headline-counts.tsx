import type { BriefingSummary } from '../api/briefing-queries.ts';

type CountName = keyof BriefingSummary['counts'];

/** Discover → Observe → Enforce → Govern, each with the counts that show it working. */
const PILLARS: { pillar: string; counts: { name: CountName; label: string }[] }[] = [
  { pillar: 'Discover', counts: [{ name: 'assets', label: 'Assets discovered' }] },
  {
    pillar: 'Observe',
    counts: [
      { name: 'sessions', label: 'Sessions observed' },
      { name: 'calls', label: 'Calls' },
      { name: 'openFindings', label: 'Open findings' },
    ],
  },
  {
    pillar: 'Enforce',
    counts: [
      { name: 'enforcementActions', label: 'Enforcement actions' },
      { name: 'activeRules', label: 'Active rules' },
    ],
  },
  { pillar: 'Govern', counts: [{ name: 'pendingProposals', label: 'Pending proposals' }] },
];

const numberFormat = new Intl.NumberFormat('en-US');

export function HeadlineCounts({ counts }: { counts: BriefingSummary['counts'] | undefined }) {
  return (
    <section aria-label="Headline counts" className="grid grid-cols-2 gap-2 md:grid-cols-[1fr_3fr_2fr_1fr]">
      {PILLARS.map(({ pillar, counts: items }, index) => (
        <div key={pillar} className="relative flex min-w-0 flex-col rounded-lg border bg-card">
          <div className="flex items-center gap-1.5 border-b px-3 py-1.5 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
            <span className="text-primary">{index + 1}</span>
            {pillar}
            {index < PILLARS.length - 1 && (
              <span aria-hidden="true" className="ml-auto text-muted-foreground/60">
                →
              </span>
            )}
          </div>
          <dl className="flex flex-1 divide-x">
            {items.map(({ name, label }) => (
              <div key={name} className="flex min-w-0 flex-1 flex-col px-3 py-2">
                <dt className="truncate text-xs text-muted-foreground">{label}</dt>
                <dd data-testid={`count-${name}`} className="text-2xl font-semibold tabular-nums leading-tight">
                  {counts === undefined ? '—' : numberFormat.format(counts[name])}
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ))}
    </section>
  );
}
