import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card.tsx';

const MESSAGES = {
  missing: 'This page needs an admin token to talk to the tenant, and none was given.',
  rejected: 'The tenant rejected the token this tab had (expired, revoked, or from another tenant). It has been forgotten.',
  'signed-out': 'You signed out: the token was removed from this tab.',
} as const;

/** Shown instead of the Briefing when there is no usable token, with the way to get one. */
export function NoTokenPanel({ reason }: { reason: keyof typeof MESSAGES }) {
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <Card aria-labelledby="no-token-title" className="w-full max-w-xl" data-testid="no-token">
        <CardHeader>
          <CardTitle id="no-token-title">Higgs — Briefing: sign-in needed</CardTitle>
        </CardHeader>
        <CardContent className="space-y-3 text-sm leading-relaxed">
          <p role={reason === 'rejected' ? 'alert' : undefined}>{MESSAGES[reason]}</p>
          <ol className="list-decimal space-y-1.5 pl-5 text-muted-foreground">
            <li>
              Start Higgs with <code className="rounded-sm bg-muted px-1 font-mono text-foreground">npm start</code>. The launcher prints
              a link like{' '}
              <code className="rounded-sm bg-muted px-1 font-mono text-foreground">http://127.0.0.1:7070/#token=…</code>.
            </li>
            <li>Open that link. The token is kept for this tab only and removed from the address bar.</li>
            <li>
              On a deployed tenant, ask an admin for a token and open{' '}
              <code className="rounded-sm bg-muted px-1 font-mono text-foreground">https://&lt;tenant&gt;/#token=&lt;token&gt;</code>.
            </li>
          </ol>
        </CardContent>
      </Card>
    </main>
  );
}
