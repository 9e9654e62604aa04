/**
 * The tenant's settings: parsed once from the environment (`loadConfig`) or
 * passed programmatically (`parseTenantOptions`, used by `createTenant`, the
 * launcher and tests). The only module that reads `process.env`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_AGENT_MODEL } from '@higgs/agent';
import { CostSettings } from './cost/index.ts';
import { TenantError } from './errors.ts';

/** <repo>/ui/dist, resolved from this file so it works from any working directory. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/dist/', import.meta.url));

export const GovernanceBaselineFile = z.object({
  sanctioned: z.object({
    namespaces: z.array(z.string().min(1)).default([]),
    providers: z.array(z.string().min(1)).default([]),
    /** the egress allowlist (hosts or `*.suffix`); calls elsewhere raise access findings. Added in issue 5, optional. */
    destinations: z.array(z.string().min(1)).optional(),
  }),
});

const Token = z.string().min(16, 'a token must be at least 16 characters');

const urlWithScheme = (schemes: readonly string[]) => z.string().refine((v) => {
  try {
    return schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, `must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`);

export const TenantOptions = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (tests) */
  port: z.number().int().min(0).max(65535).default(7070),
  /** PGlite data directory, or `memory://`; unused when `postgresUrl` is set */
  dataDir: z.string().min(1).default('.higgs/data'),
  /** state (and, without `clickhouseUrl`, telemetry) on this PostgreSQL server instead of PGlite */
  postgresUrl: urlWithScheme(['postgres:', 'postgresql:']).optional(),
  /** telemetry on this ClickHouse server (HTTP interface, `http://user:password@host:8123/database`) */
  clickhouseUrl: urlWithScheme(['http:', 'https:']).optional(),
  tenantId: z.string().min(1).max(64).default('default'),
  tenantName: z.string().min(1).default('Default tenant'),
  adminToken: Token.optional(),
  scannerToken: Token.optional(),
  /** the governance baseline applied when the tenant is first created */
  baseline: z.object({
    namespaces: z.array(z.string().min(1)),
    providers: z.array(z.string().min(1)),
    destinations: z.array(z.string().min(1)).optional(),
  }).default({ namespaces: [], providers: [] }),
  uiDir: z.string().min(1).default(DEFAULT_UI_DIR),
  /** Origins allowed on /mcp (DNS-rebinding protection); empty means this server's own origin. */
  allowedOrigins: z.array(z.string().url()).default([]),
  anthropicApiKey: z.string().min(1).optional(),
  agentModel: z.string().min(1).default(DEFAULT_AGENT_MODEL),
  /** the Messages API the agent calls (a gateway, or a local mock in tests); default Anthropic's */
  anthropicBaseUrl: urlWithScheme(['http:', 'https:']).optional(),
  /** an OpenAI-compatible embeddings API for the knowledge base (`{url}/embeddings`); default: the local hashed embedder */
  embeddingsUrl: urlWithScheme(['http:', 'https:']).optional(),
  embeddingsModel: z.string().min(1).default('text-embedding-3-small'),
  embeddingsApiKey: z.string().min(1).optional(),
  /** telemetry older than this many whole UTC days is removed once a day (day partitions dropped); 0 keeps everything */
  retentionDays: z.number().int().min(0).max(3650).default(30),
  /** price overrides and the app/namespace → team mapping of cost_report (HIGGS_COST_FILE) */
  cost: CostSettings.default({ prices: {}, teams: { apps: {}, namespaces: {} } }),
  /** fastify's logger: false in tests, an info-level JSON logger in main */
  logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('silent'),
});
export type TenantOptions = z.input<typeof TenantOptions>;
export type TenantConfig = Readonly<z.infer<typeof TenantOptions>>;

function formatIssues(error: z.ZodError, names: Record<string, string> = {}): string {
  return error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    return `${names[key] ?? i.path.join('.')}: ${i.message}`;
  }).join('; ');
}

/** Validates programmatic options, listing every bad key. */
export function parseTenantOptions(options: TenantOptions): TenantConfig {
  const parsed = TenantOptions.safeParse(options);
  if (!parsed.success) throw new TenantError('CONFIG_INVALID', `invalid tenant options: ${formatIssues(parsed.error)}`);
  return Object.freeze(parsed.data);
}

const ENV_NAMES: Record<string, string> = {
  host: 'HIGGS_TENANT_HOST', port: 'HIGGS_TENANT_PORT', dataDir: 'HIGGS_DATA_DIR', postgresUrl: 'HIGGS_POSTGRES_URL',
  clickhouseUrl: 'HIGGS_CLICKHOUSE_URL', adminToken: 'HIGGS_ADMIN_TOKEN',
  scannerToken: 'HIGGS_SCANNER_TOKEN', baseline: 'HIGGS_BASELINE_FILE', uiDir: 'HIGGS_UI_DIR', allowedOrigins: 'HIGGS_ALLOWED_ORIGINS',
  anthropicApiKey: 'ANTHROPIC_API_KEY', cost: 'HIGGS_COST_FILE', agentModel: 'HIGGS_AGENT_MODEL', logLevel: 'HIGGS_LOG_LEVEL',
  retentionDays: 'HIGGS_RETENTION_DAYS', anthropicBaseUrl: 'ANTHROPIC_BASE_URL', embeddingsUrl: 'HIGGS_EMBEDDINGS_URL',
  embeddingsModel: 'HIGGS_EMBEDDINGS_MODEL', embeddingsApiKey: 'HIGGS_EMBEDDINGS_API_KEY',
};

function readBaseline(file: string): { namespaces: string[]; providers: string[]; destinations?: string[] | undefined } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new TenantError('BASELINE_INVALID', `HIGGS_BASELINE_FILE ${file} is not readable JSON`, { cause });
  }
  const parsed = GovernanceBaselineFile.safeParse(raw);
  if (!parsed.success) throw new TenantError('BASELINE_INVALID', `HIGGS_BASELINE_FILE ${file}: ${formatIssues(parsed.error)}`);
  return parsed.data.sanctioned;
}

function readCostFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new TenantError('CONFIG_INVALID', `HIGGS_COST_FILE ${file} is not readable JSON`, { cause });
  }
}

const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v);

/**
 * Reads the environment once into a frozen config.
 * @throws TenantError CONFIG_INVALID naming every bad key; BASELINE_INVALID for a bad baseline file
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TenantConfig {
  const port = blankToUndefined(env.HIGGS_TENANT_PORT);
  const baselineFile = blankToUndefined(env.HIGGS_BASELINE_FILE);
  const origins = blankToUndefined(env.HIGGS_ALLOWED_ORIGINS);
  const costFile = blankToUndefined(env.HIGGS_COST_FILE);
  const retentionDays = blankToUndefined(env.HIGGS_RETENTION_DAYS);
  const options = {
    host: blankToUndefined(env.HIGGS_TENANT_HOST),
    port: port === undefined ? undefined : /^\d+$/.test(port) ? Number(port) : port,
    dataDir: blankToUndefined(env.HIGGS_DATA_DIR),
    postgresUrl: blankToUndefined(env.HIGGS_POSTGRES_URL),
    clickhouseUrl: blankToUndefined(env.HIGGS_CLICKHOUSE_URL),
    adminToken: blankToUndefined(env.HIGGS_ADMIN_TOKEN),
    scannerToken: blankToUndefined(env.HIGGS_SCANNER_TOKEN),
    baseline: baselineFile === undefined ? undefined : readBaseline(baselineFile),
    uiDir: blankToUndefined(env.HIGGS_UI_DIR),
    allowedOrigins: origins === undefined ? undefined : origins.split(',').map((o) => o.trim()).filter(Boolean),
    anthropicApiKey: blankToUndefined(env.ANTHROPIC_API_KEY),
    cost: costFile === undefined ? undefined : readCostFile(costFile),
    agentModel: blankToUndefined(env.HIGGS_AGENT_MODEL),
    anthropicBaseUrl: blankToUndefined(env.ANTHROPIC_BASE_URL),
    embeddingsUrl: blankToUndefined(env.HIGGS_EMBEDDINGS_URL),
    embeddingsModel: blankToUndefined(env.HIGGS_EMBEDDINGS_MODEL),
    embeddingsApiKey: blankToUndefined(env.HIGGS_EMBEDDINGS_API_KEY),
    logLevel: blankToUndefined(env.HIGGS_LOG_LEVEL) ?? 'info',
    retentionDays: retentionDays === undefined ? undefined : /^\d+$/.test(retentionDays) ? Number(retentionDays) : retentionDays,
  };
  const parsed = TenantOptions.safeParse(options);
  if (!parsed.success) throw new TenantError('CONFIG_INVALID', `invalid environment: ${formatIssues(parsed.error, ENV_NAMES)}`);
  return Object.freeze(parsed.data);
}
