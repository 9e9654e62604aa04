/**
 * The scanner as the proxy bench runs it: `startScanner(loadScannerConfig())`,
 * as `scanner/src/cli.ts` starts it, configured by the same HIGGS_* variables.
 * argv[2] `detectors-off` turns the PII, secret and injection detectors off
 * (`ScannerOptions.detectors`), so the bench can show the proxy's own cost.
 * Stops on SIGTERM (closing the scanner, so a `--cpu-prof` profile is written).
 */
import { loadScannerConfig, startScanner } from '@higgs/scanner';

const scanner = await startScanner({ ...loadScannerConfig(), detectors: process.argv[2] !== 'detectors-off' });
process.once('SIGTERM', () => {
  void scanner.close().then(() => process.exit(0));
});
