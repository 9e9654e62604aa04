import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP, isIPv4 } from 'node:net';
import { z } from 'zod';
import { ScannerError } from './errors.ts';
import { DEFAULT_ENFORCEMENT } from './proxy/enforcement.ts';
import type { ScannerOptions } from './scanner.ts';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const failMode = z.enum(['open', 'closed']).default('closed');
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Env = z.object({
  HIGGS_SCANNER_ID: z.string().min(1).max(128),
  HIGGS_DATA_DIR: z.string().min(1),
  HIGGS_PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  HIGGS_PROXY_PORT: port.default(8080),
  HIGGS_POLICY_PORT: port.default(19090),
  HIGGS_TENANT_URL: z.url({ protocol: /^https?$/ }),
  HIGGS_SCANNER_TOKEN: z.string().min(1),
  HIGGS_HASH_SALT: z.string().min(8, 'use at least 8 characters of salt'),
  /** comma-separated host patterns; unset = the built-in provider list */
  HIGGS_AI_HOSTS: list.optional(),
  HIGGS_MCP_HOSTS: list.optional(),
  /** comma-separated host=addr:port pairs, e.g. api.openai.com=127.0.0.1:9443 */
  HIGGS_HOSTS_OVERRIDE: z.string().optional(),
  /** comma-separated PEM files trusted for upstream TLS in addition to the system store */
  HIGGS_UPSTREAM_CA_FILES: list.optional(),
  HIGGS_WORKLOADS_FILE: z.string().min(1).optional(),
  HIGGS_IDENTITY_HEADER: z.string().min(1).optional(),
  /** comma-separated files of keys end-user JWTs are verified with: PEM public keys, or a file holding one HMAC secret */
  HIGGS_JWT_VERIFY_KEY_FILES: list.optional(),
  HIGGS_UPLOAD_BATCH_SIZE: positiveInt.max(5000).optional(),
  HIGGS_UPLOAD_INTERVAL_MS: positiveInt.optional(),
  HIGGS_SPOOL_MAX_BYTES: positiveInt.optional(),
  HIGGS_POLICY_WAIT_MS: z.coerce.number().int().min(0).max(120_000).optional(),
  /** per rule class: what enforce-labelled traffic gets when a rule of the class cannot be decided (default closed: denied) */
  HIGGS_FAIL_MODE_PII: failMode,
  HIGGS_FAIL_MODE_INJECTION: failMode,
  HIGGS_FAIL_MODE_CONTENT: failMode,
  HIGGS_FAIL_MODE_ATTRIBUTE: failMode,
  /** request / buffered response bodies above this are not inspected: 413 on enforce, passed through on observe */
  HIGGS_MAX_BODY_BYTES: positiveInt.optional(),
  /** rules not decided this long after a request arrived fail by their class's mode */
  HIGGS_RULES_BUDGET_US: positiveInt.optional(),
  /** 'true': quarantine also in the kernel (@higgs/bpf), for workloads with a `cgroup` */
  HIGGS_KERNEL_ENFORCEMENT: z.enum(['true', 'false']).default('false'),
  /** comma-separated AI-provider CIDRs the kernel quarantine covers */
  HIGGS_PROVIDER_CIDRS: list.optional(),
  /** kernel observation (@higgs/bpf): comma list of `tls` (uprobe plaintext of labelled pods), `flows` (connects to providers), `redirect` (enforce pods to the transparent listener) */
  HIGGS_KERNEL_OBSERVE: list.pipe(z.array(z.enum(['tls', 'flows', 'redirect'], { message: 'expected tls, flows or redirect' }))).optional(),
  /** `ip=hostname,…`: provider addresses DNS does not give (overrides, local upstreams), for flows and the redirect */
  HIGGS_PROVIDER_ADDRESSES: list.optional(),
  /** comma list of binaries the TLS uprobes attach to (default: the system libssl.so.3 and node) */
  HIGGS_TLS_BINARIES: list.optional(),
  /** transparent listener ports for redirected connections (default 0: ephemeral) */
  HIGGS_REDIRECT_TLS_PORT: port.optional(),
  HIGGS_REDIRECT_PLAIN_PORT: port.optional(),
  /**
   * the IPv4 address redirected connections are sent to: one the workloads reach this node's
   * listeners on (in Kubernetes the node's, `status.hostIP`); default HIGGS_PROXY_HOST, or 127.0.0.1
   * when that is 0.0.0.0, which reaches them only from the node's own network namespace. Checked
   * only with the redirect on: a chart may set it on every node, IPv6-only ones included
   */
  HIGGS_REDIRECT_ADDRESS: z.string().min(1).optional(),
});

/**
 * Reads the scanner's settings from the environment once, listing every bad
 * key on failure (`CONFIG_INVALID`). The result is frozen; pass it to
 * `startScanner`.
 */
export function loadScannerConfig(env: NodeJS.ProcessEnv = process.env): Readonly<ScannerOptions> {
  const r = Env.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ScannerError('CONFIG_INVALID', `invalid scanner settings:\n  ${lines.join('\n  ')}`);
  }
  const e = r.data;
  const problems: string[] = [];
  const hostsOverride: Record<string, string> = {};
  for (const pair of (e.HIGGS_HOSTS_OVERRIDE ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [host, addr] = pair.split('=');
    if (!host || !addr || !/^[^:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(addr)) problems.push(`HIGGS_HOSTS_OVERRIDE: "${pair}" is not host=addr:port`);
    else hostsOverride[host.toLowerCase()] = addr;
  }
  const providerAddresses: Record<string, string> = {};
  for (const pair of e.HIGGS_PROVIDER_ADDRESSES ?? []) {
    const [ip = '', host = '', ...rest] = pair.split('=');
    if (!isIP(ip) || !/^[a-z0-9.-]+$/i.test(host) || rest.length) problems.push(`HIGGS_PROVIDER_ADDRESSES: "${pair}" is not ip=hostname`);
    else providerAddresses[ip] = host.toLowerCase();
  }
  for (const file of e.HIGGS_TLS_BINARIES ?? []) if (!existsSync(file)) problems.push(`HIGGS_TLS_BINARIES: ${file} does not exist`);
  const observe = new Set(e.HIGGS_KERNEL_OBSERVE ?? []);
  if (observe.has('redirect') && e.HIGGS_REDIRECT_ADDRESS !== undefined && !isIPv4(e.HIGGS_REDIRECT_ADDRESS)) {
    problems.push(`HIGGS_REDIRECT_ADDRESS: "${e.HIGGS_REDIRECT_ADDRESS}" is not an IPv4 address (the redirect rewrites IPv4 connects)`);
  }
  const upstreamCaPem: string[] = [];
  for (const file of e.HIGGS_UPSTREAM_CA_FILES ?? []) {
    try {
      upstreamCaPem.push(readFileSync(file, 'utf8'));
    } catch {
      problems.push(`HIGGS_UPSTREAM_CA_FILES: cannot read ${file}`);
    }
  }
  const jwtVerifyKeys: string[] = [];
  for (const file of e.HIGGS_JWT_VERIFY_KEY_FILES ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      problems.push(`HIGGS_JWT_VERIFY_KEY_FILES: cannot read ${file}`);
      continue;
    }
    const pems = text.match(/-----BEGIN [A-Z ]*PUBLIC KEY-----[\s\S]+?-----END [A-Z ]*PUBLIC KEY-----/g) ?? [];
    if (pems.length === 0 && text.includes('-----BEGIN')) problems.push(`HIGGS_JWT_VERIFY_KEY_FILES: ${file} holds no public key`);
    else if (pems.length === 0 && text.trim().length < 16) problems.push(`HIGGS_JWT_VERIFY_KEY_FILES: the secret in ${file} is shorter than 16 characters`);
    for (const pem of pems) {
      try {
        createPublicKey(pem);
        jwtVerifyKeys.push(pem);
      } catch {
        problems.push(`HIGGS_JWT_VERIFY_KEY_FILES: ${file} holds a key that does not parse`);
      }
    }
    if (pems.length === 0 && !text.includes('-----BEGIN') && text.trim().length >= 16) jwtVerifyKeys.push(text.trim());
  }
  if (problems.length > 0) throw new ScannerError('CONFIG_INVALID', `invalid scanner settings:\n  ${problems.join('\n  ')}`);
  return Object.freeze({
    scannerId: e.HIGGS_SCANNER_ID,
    dataDir: e.HIGGS_DATA_DIR,
    proxyHost: e.HIGGS_PROXY_HOST,
    proxyPort: e.HIGGS_PROXY_PORT,
    policyPort: e.HIGGS_POLICY_PORT,
    tenantUrl: e.HIGGS_TENANT_URL,
    scannerToken: e.HIGGS_SCANNER_TOKEN,
    hashSalt: e.HIGGS_HASH_SALT,
    hostsOverride,
    upstreamCaPem,
    workloadsFile: e.HIGGS_WORKLOADS_FILE ?? null,
    ...(e.HIGGS_AI_HOSTS ? { aiHosts: e.HIGGS_AI_HOSTS } : {}),
    ...(e.HIGGS_MCP_HOSTS ? { mcpHosts: e.HIGGS_MCP_HOSTS } : {}),
    ...(e.HIGGS_IDENTITY_HEADER ? { identityHeader: e.HIGGS_IDENTITY_HEADER } : {}),
    ...(jwtVerifyKeys.length > 0 ? { jwtVerifyKeys } : {}),
    ...(e.HIGGS_UPLOAD_BATCH_SIZE ? { uploadBatchSize: e.HIGGS_UPLOAD_BATCH_SIZE } : {}),
    ...(e.HIGGS_UPLOAD_INTERVAL_MS ? { uploadIntervalMs: e.HIGGS_UPLOAD_INTERVAL_MS } : {}),
    ...(e.HIGGS_SPOOL_MAX_BYTES ? { spoolMaxBytes: e.HIGGS_SPOOL_MAX_BYTES } : {}),
    ...(e.HIGGS_POLICY_WAIT_MS !== undefined ? { policyWaitMs: e.HIGGS_POLICY_WAIT_MS } : {}),
    enforcement: Object.freeze({
      failModes: Object.freeze({ pii: e.HIGGS_FAIL_MODE_PII, injection: e.HIGGS_FAIL_MODE_INJECTION, content: e.HIGGS_FAIL_MODE_CONTENT, attribute: e.HIGGS_FAIL_MODE_ATTRIBUTE }),
      maxBodyBytes: e.HIGGS_MAX_BODY_BYTES ?? DEFAULT_ENFORCEMENT.maxBodyBytes,
      evaluationBudgetUs: e.HIGGS_RULES_BUDGET_US ?? DEFAULT_ENFORCEMENT.evaluationBudgetUs,
    }),
    ...(e.HIGGS_KERNEL_ENFORCEMENT === 'true' ? { kernelEnforcement: { providers: e.HIGGS_PROVIDER_CIDRS ?? [] } } : {}),
    ...(observe.size ? {
      kernelObservation: {
        tls: observe.has('tls') ? (e.HIGGS_TLS_BINARIES?.length ? e.HIGGS_TLS_BINARIES : true) : false,
        flows: observe.has('flows'),
        redirect: observe.has('redirect'),
        providerAddresses,
        ...(e.HIGGS_PROVIDER_CIDRS ? { providerCidrs: e.HIGGS_PROVIDER_CIDRS } : {}),
        ...(e.HIGGS_REDIRECT_TLS_PORT !== undefined ? { redirectTlsPort: e.HIGGS_REDIRECT_TLS_PORT } : {}),
        ...(e.HIGGS_REDIRECT_PLAIN_PORT !== undefined ? { redirectPlainPort: e.HIGGS_REDIRECT_PLAIN_PORT } : {}),
        ...(observe.has('redirect') && e.HIGGS_REDIRECT_ADDRESS !== undefined ? { redirectAddress: e.HIGGS_REDIRECT_ADDRESS } : {}),
      },
    } : {}),
  });
}
