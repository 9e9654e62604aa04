import { ScannerPolicy } from '@higgs/schema';
import { ScannerError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { compilePolicy, type CompiledPolicy } from '../rules/index.ts';
import type { ScannerStats } from '../stats.ts';

export interface PolicyClientOptions {
  tenantUrl: string;
  scannerId: string;
  token: string;
  waitMs: number;
  logger: Logger;
  stats: ScannerStats;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15_000;

/**
 * Long-polls `GET /v1/scanners/:id/policy?wait_ms=` with `If-None-Match`,
 * compiles each new version once and swaps it in atomically. Until the first
 * policy arrives nothing is enforced. Errors back off exponentially (capped)
 * and are counted in `policyErrors`.
 */
export class PolicyClient {
  private compiled: CompiledPolicy | null = null;
  private readonly abort = new AbortController();
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(policy: CompiledPolicy) => void>();
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: PolicyClientOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  current(): CompiledPolicy | null {
    return this.compiled;
  }

  /**
   * Calls `listener` with each new policy, synchronously as it is swapped in
   * (the kill path acts within microseconds of the long-poll answering).
   * Returns the unsubscribe function.
   */
  subscribe(listener: (policy: CompiledPolicy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first policy (current or future) satisfying `predicate`. */
  waitFor(predicate: (p: ScannerPolicy) => boolean, timeoutMs: number): Promise<ScannerPolicy> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const p = this.compiled?.policy;
        if (p && predicate(p)) {
          done();
          resolve(p);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new ScannerError('POLICY_TIMEOUT', `no matching policy within ${timeoutMs} ms (current ${this.compiled?.version ?? 'none'})`));
      }, timeoutMs);
      const waiter = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { tenantUrl, scannerId, token, waitMs, logger, stats } = this.opts;
    let backoff = MIN_BACKOFF_MS;
    while (!this.abort.signal.aborted) {
      const url = new URL(`/v1/scanners/${encodeURIComponent(scannerId)}/policy`, tenantUrl);
      url.searchParams.set('wait_ms', String(waitMs));
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        if (this.compiled) headers['if-none-match'] = this.compiled.version;
        const res = await fetch(url, {
          headers,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(waitMs + 10_000)]),
        });
        if (res.status === 304) {
          await res.arrayBuffer();
          backoff = MIN_BACKOFF_MS;
          continue;
        }
        if (res.status !== 200) {
          await res.arrayBuffer();
          throw new ScannerError(res.status < 500 ? 'TENANT_REJECTED' : 'TENANT_UNAVAILABLE', `policy request answered ${res.status}`);
        }
        const parsed = ScannerPolicy.safeParse(await res.json());
        if (!parsed.success) throw new ScannerError('POLICY_INVALID', parsed.error.message);
        this.apply(compilePolicy(parsed.data, {}, this.compiled));
        backoff = MIN_BACKOFF_MS;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        stats.policyErrors += 1;
        logger.warn({ err, retryInMs: backoff }, 'policy fetch failed');
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  private apply(next: CompiledPolicy): void {
    this.compiled = next;
    this.opts.stats.policyErrors += next.skipped.length;
    this.opts.logger.info(
      { version: next.version, rules: next.policy.rules.length, skipped: next.skipped, quarantined: next.policy.quarantinedNamespaces.length },
      'policy applied',
    );
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (err) {
        this.opts.logger.error({ err, version: next.version }, 'policy listener failed');
      }
    }
    for (const w of [...this.waiters]) w();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
