import type { Principal } from '@higgs/schema';
import { Badge } from '../../../components/ui/badge.tsx';
import { Button } from '../../../components/ui/button.tsx';
import type { ApiError } from '../../../lib/errors.ts';

interface Props {
  principal: Principal | undefined;
  /** the summary poll: its freshness is the page's liveness */
  updatedAt: number | undefined;
  error: ApiError | undefined;
  now: number;
  onSignOut: () => void;
}

export function BriefingHeader({ principal, updatedAt, error, now, onSignOut }: Props) {
  const stale = updatedAt !== undefined && now - updatedAt > 10_000;
  return (
    <header className="flex flex-wrap items-center gap-x-4 gap-y-1 border-b bg-card/60 px-4 py-2.5">
      <h1 className="text-base font-semibold tracking-tight">
        Higgs <span className="text-muted-foreground">—</span> Briefing
      </h1>
      <span role="status" className="flex items-center gap-1.5 text-xs text-muted-foreground">
        <span
          aria-hidden="true"
          className={
            error !== undefined || stale
              ? 'size-2 rounded-full bg-destructive'
              : updatedAt === undefined
                ? 'size-2 rounded-full bg-muted-foreground'
                : 'size-2 rounded-full bg-success'
          }
        />
        {error !== undefined
          ? `Tenant unreachable (${error.code})`
          : updatedAt === undefined
            ? 'Connecting…'
            : stale
              ? 'Data is stale'
              : 'Live'}
      </span>
      <div className="ml-auto flex items-center gap-3 text-xs">
        {principal !== undefined && (
          <span data-testid="principal" className="flex items-center gap-1.5 text-muted-foreground">
            <span className="font-medium text-foreground">{principal.name}</span>
            <Badge>{principal.role}</Badge>
            <span>
              tenant <span className="font-mono text-foreground/80">{principal.tenantId}</span>
            </span>
          </span>
        )}
        <Button size="xs" variant="ghost" onClick={onSignOut} aria-label="Forget the token in this tab">
          Sign out
        </Button>
      </div>
    </header>
  );
}
