import { EventEmitter } from 'node:events';

/**
 * In-process fan-out of "this tenant's policy changed", for the scanners'
 * long-poll. One process only: with several tenant-api replicas (issue 5) this
 * becomes Postgres LISTEN/NOTIFY behind the same two calls.
 */
export interface PolicyNotifier {
  notify(tenantId: string): void;
  /**
   * Resolves true on the tenant's next change, false after `timeoutMs` or when
   * `signal` aborts. Subscribe before reading the current version, so a change
   * in between is not missed.
   */
  waitForChange(tenantId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

export function createPolicyNotifier(): PolicyNotifier {
  const events = new EventEmitter();
  // every waiting scanner is one listener; there is no leak to warn about
  events.setMaxListeners(0);
  return {
    notify(tenantId) {
      events.emit(tenantId);
    },
    waitForChange(tenantId, timeoutMs, signal) {
      return new Promise((resolve) => {
        const finish = (changed: boolean) => {
          clearTimeout(timer);
          events.off(tenantId, onChange);
          signal?.removeEventListener('abort', onAbort);
          resolve(changed);
        };
        const onChange = () => finish(true);
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(false), timeoutMs);
        events.on(tenantId, onChange);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
