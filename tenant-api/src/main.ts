import { loadConfig } from './config.ts';
import { createTenant } from './tenant.ts';

const config = loadConfig();
const tenant = await createTenant(config);

// printed once: only the sha256 of a token is stored, so this is the one chance to copy it
if (tenant.adminToken && !config.adminToken) process.stdout.write(`admin token (store it now): ${tenant.adminToken}\n`);
if (tenant.scannerToken && !config.scannerToken) process.stdout.write(`scanner token (store it now): ${tenant.scannerToken}\n`);
process.stdout.write(`higgs tenant listening on ${tenant.url}\n`);

let closing = false;
const shutdown = (signal: string) => {
  if (closing) return;
  closing = true;
  process.stdout.write(`${signal}: closing\n`);
  tenant.close().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`close failed: ${String(err)}\n`);
    process.exit(1);
  });
};
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
