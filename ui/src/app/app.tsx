import { useMemo, useState } from 'react';
import { ErrorBoundary } from '../components/ui/error-boundary.tsx';
import { BriefingPage } from '../features/briefing/index.ts';
import { createApiClient } from '../lib/api-client.ts';
import { ApiClientProvider } from '../lib/api-context.tsx';
import { clearToken, loadToken } from '../lib/auth.ts';
import { NoTokenPanel } from './no-token-panel.tsx';

type Auth = { state: 'signed-in'; token: string } | { state: 'missing' } | { state: 'rejected' } | { state: 'signed-out' };

export function App() {
  const [auth, setAuth] = useState<Auth>(() => {
    const token = loadToken();
    return token === null ? { state: 'missing' } : { state: 'signed-in', token };
  });

  const client = useMemo(
    () =>
      auth.state === 'signed-in'
        ? createApiClient({
            token: auth.token,
            onUnauthorized: () => {
              clearToken();
              setAuth({ state: 'rejected' });
            },
          })
        : null,
    [auth],
  );

  if (client === null) return <NoTokenPanel reason={auth.state === 'signed-in' ? 'missing' : auth.state} />;
  return (
    <ErrorBoundary region="Briefing">
      <ApiClientProvider client={client}>
        <BriefingPage
          onSignOut={() => {
            clearToken();
            setAuth({ state: 'signed-out' });
          }}
        />
      </ApiClientProvider>
    </ErrorBoundary>
  );
}
