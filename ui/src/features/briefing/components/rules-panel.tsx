import type { Rule } from '@higgs/schema';
import { Alert } from '../../../components/ui/alert.tsx';
import { Badge } from '../../../components/ui/badge.tsx';
import { Card, CardContent, CardHeader, CardTitle } from '../../../components/ui/card.tsx';
import type { ApiError } from '../../../lib/errors.ts';
import { describeMatch, formatAgo } from '../format.ts';

const actionTone = { block: 'critical', redact: 'medium', alert: 'low' } as const;

/** The enabled inline rules the scanners enforce. */
export function RulesPanel({ rules, error, now }: { rules: Rule[] | undefined; error: ApiError | undefined; now: number }) {
  return (
    <Card aria-labelledby="rules-title">
      <CardHeader>
        <CardTitle id="rules-title">Active rules</CardTitle>
        {rules !== undefined && <span className="text-xs text-muted-foreground">{rules.length}</span>}
      </CardHeader>
      <CardContent className="p-0">
        {error !== undefined && (
          <Alert tone="error" className="m-3">
            Could not load rules — <code className="font-mono text-xs">{error.code}</code>: {error.message}
          </Alert>
        )}
        {rules === undefined ? (
          error === undefined && <p className="p-3 text-sm text-muted-foreground">Loading rules…</p>
        ) : rules.length === 0 ? (
          <p className="p-3 text-sm text-muted-foreground">No active rules yet.</p>
        ) : (
          <ul className="divide-y">
            {rules.map((rule) => (
              <li key={rule.id} data-testid="rule" data-rule-id={rule.id} className="px-3 py-2">
                <div className="flex items-center gap-2">
                  <Badge tone={actionTone[rule.action]}>{rule.action}</Badge>
                  <span className="min-w-0 flex-1 truncate font-medium" title={rule.name}>
                    {rule.name}
                  </span>
                </div>
                <p className="mt-0.5 break-words font-mono text-xs text-muted-foreground">{describeMatch(rule.match)}</p>
                <p className="mt-0.5 text-xs text-muted-foreground">
                  by {rule.createdBy}{' '}
                  <time dateTime={rule.createdAt} title={rule.createdAt}>
                    {formatAgo(rule.createdAt, now)}
                  </time>
                  {rule.sourceFindingId !== null && <> · from finding {rule.sourceFindingId}</>}
                </p>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
