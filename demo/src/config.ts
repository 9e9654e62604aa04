/**
 * The launcher's settings (`npm start`), parsed once from the environment. The
 * only module of the launcher that reads `process.env`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { DemoError } from './errors.ts';

const Port = z.coerce.number().int().min(0).max(65535);
const Bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const Env = z.object({
  HIGGS_HOME: z.string().min(1).default('.higgs'),
  HIGGS_HOST: z.string().min(1).default('127.0.0.1'),
  HIGGS_TENANT_PORT: Port.default(7070),
  HIGGS_PROXY_PORT: Port.default(7080),
  HIGGS_POLICY_PORT: Port.default(7081),
  HIGGS_DEMO_TRAFFIC: Bool.default(true),
  HIGGS_DEMO_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(2000),
  // auto: workloads as cgroup pods with the kernel primitives when root, cgroup v2 and BPF allow; off: always in-process
  HIGGS_DEMO_PODS: z.enum(['auto', 'off']).default('auto'),
  HIGGS_LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info']).default('warn'),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
});

export interface LauncherConfig {
  home: string;
  host: string;
  tenantPort: number;
  proxyPort: number;
  policyPort: number;
  traffic: boolean;
  trafficIntervalMs: number;
  pods: 'auto' | 'off';
  logLevel: 'silent' | 'error' | 'warn' | 'info';
  anthropicApiKey: string | undefined;
}

/** Parses the environment, listing every bad key at once. */
export function loadLauncherConfig(env: NodeJS.ProcessEnv = process.env): Readonly<LauncherConfig> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ');
    throw new DemoError('CONFIG_INVALID', `invalid launcher settings:\n  ${issues}`);
  }
  const e = parsed.data;
  return Object.freeze({
    home: resolve(e.HIGGS_HOME),
    host: e.HIGGS_HOST,
    tenantPort: e.HIGGS_TENANT_PORT,
    proxyPort: e.HIGGS_PROXY_PORT,
    policyPort: e.HIGGS_POLICY_PORT,
    traffic: e.HIGGS_DEMO_TRAFFIC,
    trafficIntervalMs: e.HIGGS_DEMO_INTERVAL_MS,
    pods: e.HIGGS_DEMO_PODS,
    logLevel: e.HIGGS_LOG_LEVEL,
    anthropicApiKey: e.ANTHROPIC_API_KEY,
  });
}
