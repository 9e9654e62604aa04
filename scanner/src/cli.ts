import { loadScannerConfig } from './config.ts';
import { ScannerError } from './errors.ts';
import { startScanner } from './scanner.ts';

// `tsx scanner/src/cli.ts`: the scanner as a standalone process, configured by HIGGS_* env vars.
try {
  const scanner = await startScanner(loadScannerConfig());
  const stop = (): void => {
    void scanner.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  process.stderr.write(`${err instanceof ScannerError ? `${err.code}: ${err.message}` : String(err)}\n`);
  process.exit(1);
}
