import { existsSync } from 'node:fs';

/**
 * Gates a suite on a system dependency. Locally a missing dependency skips the
 * suite with its reason; with HIGGS_REQUIRE_<FLAG>=1 (as CI sets it) it fails,
 * so a suite can never pass CI by skipping.
 */
export function requireOrSkip(flag: 'BROWSER' | 'SERVICES' | 'BPF' | 'DATA', missingReason: string | null): boolean {
  if (missingReason === null) return true;
  if (process.env[`HIGGS_REQUIRE_${flag}`] === '1') {
    throw new Error(`HIGGS_REQUIRE_${flag}=1 but ${missingReason}`);
  }
  console.warn(`skipping: ${missingReason} (set HIGGS_REQUIRE_${flag}=1 to make this a failure)`);
  return false;
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser suite cannot run here, or null when it can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} not found (apt-get install chromium)`;
}

/** Flags Chromium needs as root on a machine with no network (see README). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];
