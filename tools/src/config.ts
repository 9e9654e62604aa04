import { z } from 'zod';
import { ConfigError } from './errors.ts';

const StdioEnv = z.object({
  /** the tenant, e.g. http://127.0.0.1:7070 */
  HIGGS_URL: z.url({ protocol: /^https?$/ }),
  /** a personal API token; the tenant resolves it to the principal every call runs as */
  HIGGS_TOKEN: z.string().min(1),
  HIGGS_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});
export type StdioConfig = Readonly<z.infer<typeof StdioEnv>>;

/**
 * Settings of the `higgs-mcp` stdio server, parsed once from the environment.
 * Throws ConfigError naming every missing or invalid key.
 */
export function loadStdioConfig(env: Record<string, string | undefined> = process.env): StdioConfig {
  const parsed = StdioEnv.safeParse(env);
  if (!parsed.success) {
    const keys = parsed.error.issues.map((issue) => `${issue.path.join('.')} (${issue.message})`);
    throw new ConfigError(`invalid environment: ${keys.join(', ')}`);
  }
  return Object.freeze(parsed.data);
}
