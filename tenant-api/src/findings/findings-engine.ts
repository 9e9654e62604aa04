/**
 * The findings engine: turns newly stored observations into occurrences of
 * findings, de-duplicated by (asset, detector) — one finding per asset and
 * detection rule, counting its occurrences. A blocked call still counts: its
 * PII is evidence of attempted egress. A resolved finding that recurs reopens;
 * acknowledged and suppressed ones keep their status and keep counting.
 *
 * Detections (detector ids, the asset they are on):
 * - `pii.<type>` PII or a secret in a prompt to an LLM provider (workload)
 * - `pii.tool.<type>` PII or a secret in an MCP tool call (workload)
 * - `injection.prompt` injection score ≥ INJECTION_THRESHOLD (workload)
 * - `shadow.namespace`, `shadow.provider.<host>`, `shadow.model.<provider:model>`,
 *   `shadow.mcp.<host>`, `shadow.network.<host>` AI outside the baseline (workload)
 * - `auth.unauthenticated` a request without credentials to an MCP server or a
 *   self-hosted inference endpoint (that endpoint)
 * - `access.destination.<host>` a call to a host outside the egress allowlist,
 *   when the tenant has one (workload)
 * - `compliance.pii_processor` PII sent to a provider that is not sanctioned as a
 *   data processor (the provider endpoint)
 * - `cve.<id>` a known vulnerability in a component (recordCveFinding)
 */
import type {
  Asset, Finding, FindingCategory, FindingEvidence, LlmCall, NetworkFlow, PiiType, Severity, ToolCall,
} from '@higgs/schema';
import {
  matchesAllowlist, recordFlowsAssets, recordToolCallsAssets, type CallAssets, type FlowAssets, type ToolCallAssets,
} from '../registry/asset-registry.ts';
import { getDestinationAllowlist } from '../stores/assets-repository.ts';
import { getFindingsByKeysForUpdate, insertFindings, updateFindingOccurrences } from '../stores/findings-repository.ts';
import { newId } from '../stores/rows.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';
import { getBaseline } from '../stores/tenants-repository.ts';

/** Score at which a call's prompt counts as an injection attempt. */
export const INJECTION_THRESHOLD = 50;
/** How many of the latest call ids / sessions / users / hashes a finding keeps. */
export const EVIDENCE_LIMIT = 20;

export const PII_SEVERITY: Record<PiiType, Severity> = {
  ssn: 'critical', credit_card: 'critical', iban: 'critical', passport: 'critical', national_id: 'critical', secret: 'critical',
  email: 'medium', phone: 'medium', person: 'medium', address: 'medium',
  ip_address: 'low',
};

/** What one observation contributes to one finding's evidence. */
interface Sighting {
  callId: string | null;
  flowId: string | null;
  sessionId: string | null;
  userId: string | null;
  valueHashes: readonly string[];
  provider: string | null;
  model: string | null;
  host: string | null;
  namespace: string | null;
  app: string | null;
  piiType: PiiType | null;
  injectionScore: number | null;
  cve?: FindingEvidence['cve'];
}

/** One occurrence of a finding, before de-duplication. */
export interface Occurrence {
  assetId: string;
  category: FindingCategory;
  detector: string;
  severity: Severity;
  title: string;
  at: string;
  sighting: Sighting;
}

/** The tenant settings detections depend on. */
export interface DetectionContext {
  /** the egress allowlist; empty means the tenant has none and no access finding is raised */
  allowlist: readonly string[];
}

function hashesByType(detections: LlmCall['detections']): Map<PiiType, string[]> {
  const byType = new Map<PiiType, string[]>();
  for (const d of detections) {
    const hashes = byType.get(d.type);
    if (hashes) hashes.push(d.hash);
    else byType.set(d.type, [d.hash]);
  }
  return byType;
}

/*
 * Occurrences and sightings are built as whole literals, always with the same keys
 * in the same order: a batch makes two or three per call, and spreading a partial
 * object over a base made them ~8 µs each (~15 % of the tenant's ingest CPU).
 */
function occurrence(
  assetId: string, category: FindingCategory, detector: string, severity: Severity, title: string, at: string, sighting: Sighting,
): Occurrence {
  return { assetId, category, detector, severity, title, at, sighting };
}

function callSighting(
  call: LlmCall, piiType: PiiType | null, valueHashes: readonly string[], injectionScore: number | null,
): Sighting {
  return {
    callId: call.id, flowId: null, sessionId: call.attribution.sessionId, userId: call.attribution.userId, valueHashes,
    provider: call.provider, model: call.model, host: call.host, namespace: call.source.namespace, app: call.source.app,
    piiType, injectionScore,
  };
}

/** What this LLM call is evidence of. */
export function occurrencesOfCall(call: LlmCall, assets: CallAssets, ctx: DetectionContext): Occurrence[] {
  const where = assets.workload.name;
  const workloadId = assets.workload.id;
  const at = call.ts;
  // sightings are only read: occurrences without details of their own share the call's
  const base = callSighting(call, null, [], null);
  const out: Occurrence[] = [];
  const byType = call.detections.length > 0 ? hashesByType(call.detections) : null;
  if (byType) {
    for (const [type, hashes] of byType) {
      const title = type === 'secret' ? `Secrets sent to LLM providers from ${where}` : `PII (${type}) sent to LLM providers from ${where}`;
      out.push(occurrence(workloadId, 'pii', `pii.${type}`, PII_SEVERITY[type], title, at, callSighting(call, type, hashes, null)));
    }
  }
  if (call.injectionScore >= INJECTION_THRESHOLD) {
    out.push(occurrence(workloadId, 'injection', 'injection.prompt', 'high', `Prompt injection in LLM traffic of ${where}`, at,
      callSighting(call, null, [], call.injectionScore)));
  }
  if (assets.workload.governance !== 'sanctioned') {
    out.push(occurrence(workloadId, 'shadow', 'shadow.namespace', 'high',
      `Shadow AI: ${where} calls LLMs from a namespace outside the baseline`, at, base));
  }
  if (assets.provider.governance !== 'sanctioned') {
    out.push(occurrence(workloadId, 'shadow', `shadow.provider.${call.host}`, 'medium',
      `Shadow AI: ${where} calls unsanctioned provider ${call.host}`, at, base));
  } else if (assets.model !== null && assets.model.governance !== 'sanctioned') {
    // a model unsanctioned on a sanctioned provider: only this model is outside the baseline
    out.push(occurrence(workloadId, 'shadow', `shadow.model.${call.provider}:${assets.model.name}`, 'medium',
      `Unsanctioned model in use: ${where} calls ${assets.model.name} on ${call.host}`, at, base));
  }
  if (call.authenticated === false && assets.provider.kind === 'inference_endpoint') {
    out.push(occurrence(assets.provider.id, 'authentication', 'auth.unauthenticated', 'high',
      `Unauthenticated calls to inference endpoint ${call.host}`, at, base));
  }
  if (ctx.allowlist.length > 0 && assets.provider.governance !== 'sanctioned' && !matchesAllowlist(ctx.allowlist, call.host)) {
    out.push(occurrence(workloadId, 'access', `access.destination.${call.host}`, 'medium',
      `${where} calls ${call.host}, outside the egress allowlist`, at, base));
  }
  if (byType && assets.provider.governance !== 'sanctioned') {
    const personal = [...byType.keys()].filter((t) => t !== 'secret');
    if (personal.length > 0) {
      out.push(occurrence(assets.provider.id, 'compliance', 'compliance.pii_processor', 'high',
        `Personal data sent to ${call.host}, which is not a sanctioned data processor`, at,
        callSighting(call, personal[0]!, personal.flatMap((t) => byType.get(t) ?? []), null)));
    }
  }
  return out;
}

/** What this MCP tool call is evidence of. */
export function occurrencesOfToolCall(call: ToolCall, assets: ToolCallAssets, ctx: DetectionContext): Occurrence[] {
  const where = assets.workload.name;
  const at = call.ts;
  const sighting = (piiType: PiiType | null, valueHashes: readonly string[]): Sighting => ({
    callId: call.id, flowId: null, sessionId: call.attribution.sessionId, userId: call.attribution.userId, valueHashes,
    provider: 'mcp', model: null, host: call.host, namespace: call.source.namespace, app: call.source.app, piiType, injectionScore: null,
  });
  const base = sighting(null, []);
  const out: Occurrence[] = [];
  for (const [type, hashes] of hashesByType(call.detections)) {
    const title = type === 'secret' ? `Secrets sent to MCP tools from ${where}` : `PII (${type}) sent to MCP tools from ${where}`;
    out.push(occurrence(assets.workload.id, 'pii', `pii.tool.${type}`, PII_SEVERITY[type], title, at, sighting(type, hashes)));
  }
  if (assets.server.governance !== 'sanctioned') {
    out.push(occurrence(assets.workload.id, 'shadow', `shadow.mcp.${call.host}`, 'medium',
      `Shadow AI: ${where} uses unsanctioned MCP server ${call.host}`, at, base));
  }
  if (call.authenticated === false) {
    out.push(occurrence(assets.server.id, 'authentication', 'auth.unauthenticated', 'high', `Unauthenticated calls to MCP server ${call.host}`, at, base));
  }
  if (ctx.allowlist.length > 0 && assets.server.governance !== 'sanctioned' && !matchesAllowlist(ctx.allowlist, call.host)) {
    out.push(occurrence(assets.workload.id, 'access', `access.destination.${call.host}`, 'medium',
      `${where} calls MCP server ${call.host}, outside the egress allowlist`, at, base));
  }
  return out;
}

/** A flow is evidence of shadow AI when its AI destination is unsanctioned (seen only on the network). */
export function occurrencesOfFlow(flow: NetworkFlow, assets: FlowAssets): Occurrence[] {
  const d = assets.destination;
  if (d.governance !== 'unsanctioned' || d.domain === 'data') return [];
  return [{
    category: 'shadow', detector: `shadow.network.${d.name}`, severity: 'high', assetId: assets.workload.id, at: flow.ts,
    title: `Shadow AI: ${assets.workload.name} reaches ${d.name}, seen only in network flows`,
    sighting: {
      callId: null, flowId: flow.id, sessionId: null, userId: null, valueHashes: [], provider: flow.provider, model: null, host: d.name,
      namespace: flow.source.namespace, app: flow.source.app, piiType: null, injectionScore: null,
    },
  }];
}

/**
 * A finding's evidence after `sightings` (in order) on top of `previous`: what
 * merging them one at a time gives, computed in one pass. Lists keep the latest
 * EVIDENCE_LIMIT distinct values, newest first; an element is where its latest
 * sighting puts it, so walking the sightings newest first and keeping first
 * occurrences is the same list. Scalars are the last sighting's, except piiType
 * and cve (the last one given) and maxInjectionScore (the maximum).
 */
function mergeEvidence(previous: FindingEvidence | null, sightings: readonly Sighting[]): FindingEvidence {
  const last = sightings[sightings.length - 1]!;
  const lists = { callIds: new Set<string>(), sessionIds: new Set<string>(), users: new Set<string>(), valueHashes: new Set<string>(), flowIds: new Set<string>() };
  const add = (set: Set<string>, v: string | null) => {
    if (v !== null && set.size < EVIDENCE_LIMIT) set.add(v);
  };
  let piiType: PiiType | null = null;
  let cve: FindingEvidence['cve'];
  let maxScore: number | null = null;
  for (let i = sightings.length - 1; i >= 0; i--) {
    const s = sightings[i]!;
    add(lists.callIds, s.callId);
    add(lists.sessionIds, s.sessionId);
    add(lists.users, s.userId);
    add(lists.flowIds, s.flowId);
    for (const h of s.valueHashes) add(lists.valueHashes, h);
    piiType ??= s.piiType;
    cve ??= s.cve;
    if (s.injectionScore !== null) maxScore = Math.max(maxScore ?? 0, s.injectionScore);
  }
  for (const v of previous?.callIds ?? []) add(lists.callIds, v);
  for (const v of previous?.sessionIds ?? []) add(lists.sessionIds, v);
  for (const v of previous?.users ?? []) add(lists.users, v);
  for (const v of previous?.valueHashes ?? []) add(lists.valueHashes, v);
  for (const v of previous?.flowIds ?? []) add(lists.flowIds, v);
  const prevScore = previous?.maxInjectionScore ?? null;
  cve ??= previous?.cve;
  return {
    callIds: [...lists.callIds],
    sessionIds: [...lists.sessionIds],
    users: [...lists.users],
    valueHashes: [...lists.valueHashes],
    provider: last.provider,
    model: last.model,
    host: last.host,
    namespace: last.namespace,
    app: last.app,
    piiType: piiType ?? previous?.piiType ?? null,
    maxInjectionScore: maxScore === null ? prevScore : Math.max(prevScore ?? 0, maxScore),
    ...(lists.flowIds.size > 0 ? { flowIds: [...lists.flowIds] } : {}),
    ...(cve ? { cve } : {}),
  };
}

/**
 * Records occurrences in order; returns the findings they created or touched.
 * A batch reads its findings in one statement and writes them in two (new,
 * updated), however many occurrences hit them, with the same result as one at a
 * time. Occurrences are grouped per finding first and each finding's evidence
 * merged once: a 5 000-call batch is ~10 000 occurrences on a few dozen findings.
 */
export async function recordOccurrences(
  db: SqlExecutor, p: { tenantId: string; occurrences: readonly Occurrence[] },
): Promise<Finding[]> {
  const { tenantId } = p;
  const keyOf = (o: { assetId: string; detector: string }) => `${o.assetId}\u0000${o.detector}`;
  interface Group { first: Occurrence; sightings: Sighting[]; firstMs: number; lastMs: number; firstSeen: string; lastSeen: string }
  const groups = new Map<string, Group>();
  for (const o of p.occurrences) {
    // the scanner may send any offset: instants are compared as numbers, written in one notation once per finding
    const at = Date.parse(o.at);
    const key = keyOf(o);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: o, sightings: [o.sighting], firstMs: at, lastMs: at, firstSeen: '', lastSeen: '' });
      continue;
    }
    g.sightings.push(o.sighting);
    if (at < g.firstMs) g.firstMs = at;
    if (at > g.lastMs) g.lastMs = at;
  }
  for (const g of groups.values()) [g.firstSeen, g.lastSeen] = [new Date(g.firstMs).toISOString(), new Date(g.lastMs).toISOString()];
  const existing = await getFindingsByKeysForUpdate(db, {
    tenantId, keys: [...groups.values()].map((g) => ({ assetId: g.first.assetId, detector: g.first.detector })),
  });
  const created: Finding[] = [];
  const updated: Finding[] = [];
  const touched: Finding[] = [];
  for (const [key, g] of groups) {
    const f = existing.get(key);
    const o = g.first;
    const finding: Finding = f
      ? {
        ...f,
        // recurrence after resolution reopens; the person's note stays as the record of the resolution
        status: f.status === 'resolved' ? 'open' : f.status,
        count: f.count + g.sightings.length,
        firstSeen: g.firstSeen < f.firstSeen ? g.firstSeen : f.firstSeen,
        lastSeen: g.lastSeen > f.lastSeen ? g.lastSeen : f.lastSeen,
        evidence: mergeEvidence(f.evidence, g.sightings),
      }
      : {
        id: newId('fnd'), category: o.category, severity: o.severity, status: 'open', title: o.title,
        assetId: o.assetId, detector: o.detector, count: g.sightings.length, firstSeen: g.firstSeen, lastSeen: g.lastSeen,
        evidence: mergeEvidence(null, g.sightings), statusNote: null,
      };
    (f ? updated : created).push(finding);
    touched.push(finding);
  }
  await insertFindings(db, { tenantId, findings: created });
  await updateFindingOccurrences(db, { tenantId, findings: updated });
  return touched;
}

/** Records the findings of newly stored LLM calls; the detection context is read from the tenant unless given. */
export async function recordCallsFindings(
  db: SqlExecutor,
  p: { tenantId: string; calls: ReadonlyArray<{ call: LlmCall; assets: CallAssets }>; context?: DetectionContext },
): Promise<Finding[]> {
  if (p.calls.length === 0) return [];
  const ctx = p.context ?? { allowlist: await getDestinationAllowlist(db, { tenantId: p.tenantId }) };
  return recordOccurrences(db, { tenantId: p.tenantId, occurrences: p.calls.flatMap(({ call, assets }) => occurrencesOfCall(call, assets, ctx)) });
}

/** A known vulnerability in a component. */
export interface CveAdvisory {
  /** CVE-YYYY-NNNN (or a GHSA id) */
  id: string;
  /** CVSS v3 base score, when the advisory has one */
  cvss: number | null;
  /** the package, model or binary, with its version */
  component: string;
  summary: string;
}

/** CVSS v3 qualitative ratings; without a score an advisory counts as medium. */
export function cveSeverity(cvss: number | null): Severity {
  if (cvss === null) return 'medium';
  if (cvss >= 9) return 'critical';
  if (cvss >= 7) return 'high';
  if (cvss >= 4) return 'medium';
  return 'low';
}

/**
 * The CVE hook the AI-SBOM scan calls: one finding per asset × advisory, counted
 * again each time the scan still finds it (and reopened if it was resolved).
 */
export async function recordCveFinding(
  db: SqlExecutor, p: { tenantId: string; asset: Asset; cve: CveAdvisory; at: string },
): Promise<Finding> {
  const { asset, cve } = p;
  const [finding] = await recordOccurrences(db, {
    tenantId: p.tenantId,
    occurrences: [{
      assetId: asset.id, category: 'cve', detector: `cve.${cve.id}`, severity: cveSeverity(cve.cvss), at: p.at,
      title: `${cve.id} in ${cve.component} on ${asset.name}`,
      sighting: {
        callId: null, flowId: null, sessionId: null, userId: null, valueHashes: [], provider: null, model: null, host: null,
        namespace: asset.namespace, app: asset.app, piiType: null, injectionScore: null, cve,
      },
    }],
  });
  if (!finding) throw new Error('a CVE occurrence must produce a finding');
  return finding;
}

/**
 * The effects of newly stored MCP tool calls and network flows: their assets,
 * topology edges and findings. `storedToolCalls` / `storedFlows` are the ids the
 * telemetry store reported new; a repeated id in the batch counts once.
 */
export async function recordToolCallAndFlowEffects(
  db: SqlExecutor,
  p: {
    tenantId: string;
    toolCalls: readonly ToolCall[]; storedToolCalls: ReadonlySet<string>;
    flows: readonly NetworkFlow[]; storedFlows: ReadonlySet<string>;
  },
): Promise<Finding[]> {
  const toolCalls = firstOfEach(p.toolCalls, p.storedToolCalls);
  const flows = firstOfEach(p.flows, p.storedFlows);
  if (toolCalls.length === 0 && flows.length === 0) return [];
  const { tenantId } = p;
  const [baseline, allowlist] = [await getBaseline(db, { tenantId }), await getDestinationAllowlist(db, { tenantId })];
  const ctx: DetectionContext = { allowlist };
  const occurrences: Occurrence[] = [];
  if (toolCalls.length > 0) {
    const assets = await recordToolCallsAssets(db, { tenantId, calls: toolCalls, baseline, allowlist });
    toolCalls.forEach((call, i) => occurrences.push(...occurrencesOfToolCall(call, assets[i]!, ctx)));
  }
  if (flows.length > 0) {
    const assets = await recordFlowsAssets(db, { tenantId, flows, baseline, allowlist });
    flows.forEach((flow, i) => {
      const a = assets[i];
      if (a) occurrences.push(...occurrencesOfFlow(flow, a));
    });
  }
  return recordOccurrences(db, { tenantId, occurrences });
}

function firstOfEach<T extends { id: string }>(events: readonly T[], stored: ReadonlySet<string>): T[] {
  const seen = new Set<string>();
  return events.filter((e) => stored.has(e.id) && !seen.has(e.id) && (seen.add(e.id), true));
}
