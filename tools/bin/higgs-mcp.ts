// Higgs MCP stdio server for IDEs. Run: HIGGS_URL=… HIGGS_TOKEN=… npx tsx tools/bin/higgs-mcp.ts
// stdout carries the protocol, so every diagnostic goes to stderr.
import { runHiggsMcp } from '../src/stdio.ts';

try {
  await runHiggsMcp();
} catch (err) {
  process.stderr.write(`higgs-mcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
