import { FindingCategory } from '@higgs/schema';
import { cn } from '../../../lib/cn.ts';
import type { BriefingSummary } from '../api/briefing-queries.ts';

const LABELS: Record<FindingCategory, string> = {
  access: 'Access',
  authentication: 'Authentication',
  compliance: 'Compliance',
  cve: 'CVE',
  injection: 'Injection',
  pii: 'PII',
  shadow: 'Shadow AI',
};

/** Open findings per risk category: all seven cells, zeros included, so an empty category is visibly clean. */
export function CategoryStrip({ byCategory }: { byCategory: BriefingSummary['findingsByCategory'] | undefined }) {
  return (
    <section aria-labelledby="categories-title" className="rounded-lg border bg-card">
      <h2 id="categories-title" className="border-b px-3 py-1.5 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
        Findings by category
      </h2>
      <ul className="grid grid-cols-4 divide-x md:grid-cols-7">
        {FindingCategory.options.map((category) => {
          const count = byCategory?.[category];
          return (
            <li key={category} data-testid={`category-${category}`} className="flex flex-col px-3 py-2">
              <span className="text-xs text-muted-foreground">{LABELS[category]}</span>
              <span className={cn('text-xl font-semibold tabular-nums', count !== undefined && count > 0 ? 'text-warning' : 'text-foreground/70')}>
                {count ?? '—'}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
