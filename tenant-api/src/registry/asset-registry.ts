/**
 * The asset registry: what each observation says exists, in the 7 domains.
 *
 * - an LLM call names its calling workload (agents), a provider endpoint (llm;
 *   `inference_endpoint` when self-hosted) and a model (llm);
 * - an MCP tool call names its workload, the MCP server (mcp) and the tool (mcp);
 * - a network flow names its workload and, when the destination is AI (a known
 *   provider, an MCP server, a self-hosted inference port) or a database, that
 *   destination (llm / mcp / data).
 *
 * Governance of a first sighting: sanctioned when the tenant's baseline lists
 * it; otherwise tolerated when it was seen in inspected traffic, unsanctioned
 * (shadow AI) when it was seen only as a network flow. Later sightings never
 * change a state; people do (set_governance_state), and every change — the
 * discovery included — is recorded as a transition.
 */
import type { Asset, GovernanceState, LlmCall, NetworkFlow, Provider, ToolCall } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import {
  insertGovernanceTransitions, observeAsset, observeEdges, type AssetEdge, type AssetObservation, type EdgeKind,
} from '../stores/assets-repository.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';
import type { GovernanceBaseline } from '../stores/tenants-repository.ts';

/** Who the discovery transitions are recorded as. */
export const DISCOVERY_ACTOR = 'higgs:discovery';

/** Ids computed lately: a batch names the same few dozen assets thousands of times (hashing them was ~4 % of ingest CPU). */
const assetIds = new Map<string, string>();
const ASSET_IDS_KEPT = 10_000;

/** Stable per tenant: the same workload / endpoint / model always maps to one asset. */
export function assetId(domain: string, kind: string, name: string): string {
  const key = `${domain}\u0000${kind}\u0000${name}`;
  let id = assetIds.get(key);
  if (id === undefined) {
    id = `ast_${sha256Hex(key).slice(0, 24)}`;
    if (assetIds.size >= ASSET_IDS_KEPT) assetIds.clear();
    assetIds.set(key, id);
  }
  return id;
}

/** `namespace/app`, with `unknown` for what the scanner could not resolve. */
export function workloadName(namespace: string | null, app: string | null): string {
  return `${namespace ?? 'unknown'}/${app ?? 'unknown'}`;
}

export function isSanctionedNamespace(baseline: GovernanceBaseline, namespace: string | null): boolean {
  return namespace !== null && baseline.namespaces.includes(namespace);
}

/** A baseline provider entry names either the provider (`openai`) or its endpoint host. */
export function isSanctionedProvider(baseline: GovernanceBaseline, provider: string, host: string): boolean {
  return baseline.providers.includes(provider) || baseline.providers.includes(host);
}

/** True when `host` is on the allowlist: an exact entry, or a `*.suffix` entry it ends with. */
export function matchesAllowlist(allowlist: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  return allowlist.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) : h === e;
  });
}

const PRIVATE_HOST = /(^localhost$)|(\.svc(\.cluster\.local)?$)|(\.internal$)|(\.local$)|(^10\.)|(^192\.168\.)|(^172\.(1[6-9]|2\d|3[01])\.)|(^127\.)/i;

/**
 * A provider endpoint is self-hosted inference when it speaks an OpenAI-compatible
 * API of its own, or lives inside the cluster / a private network.
 */
export function endpointKind(provider: Provider, host: string): 'provider' | 'inference_endpoint' {
  return provider === 'openai_compatible' || provider === 'unknown' || PRIVATE_HOST.test(host) ? 'inference_endpoint' : 'provider';
}

/** Well-known database and vector-store ports (Data domain, "observed network connections to standard database ports"). */
const DATA_PORTS: Readonly<Record<number, string>> = {
  5432: 'postgresql', 3306: 'mysql', 1433: 'sqlserver', 1521: 'oracle', 27017: 'mongodb', 6379: 'redis', 9042: 'cassandra',
  9200: 'elasticsearch', 8123: 'clickhouse', 9000: 'clickhouse', 6333: 'qdrant', 6334: 'qdrant', 19530: 'milvus', 8529: 'arangodb',
};
/** Ports only self-hosted model servers use by default (Ollama). Broader ones such as 8000 would misclassify ordinary APIs. */
const INFERENCE_PORTS: Readonly<Record<number, string>> = { 11434: 'ollama' };

export interface CallAssets {
  workload: Asset;
  provider: Asset;
  model: Asset | null;
}

export interface ToolCallAssets {
  workload: Asset;
  server: Asset;
  tool: Asset | null;
}

export interface FlowAssets {
  workload: Asset;
  destination: Asset;
}

function workloadObservation(source: { namespace: string | null; app: string | null; mode: string | null }, baseline: GovernanceBaseline, ts: string): AssetObservation {
  const { namespace, app } = source;
  const name = workloadName(namespace, app);
  return {
    id: assetId('agents', 'workload', name), domain: 'agents', kind: 'workload', name, namespace, app,
    governance: isSanctionedNamespace(baseline, namespace) ? 'sanctioned' : 'tolerated',
    seenAt: ts, attributes: source.mode ? { mode: source.mode } : {},
  };
}

function providerObservation(provider: Provider, host: string, governance: GovernanceState, ts: string, via: 'traffic' | 'network'): AssetObservation {
  return {
    id: assetId('llm', 'provider', host), domain: 'llm', kind: endpointKind(provider, host), name: host, namespace: null, app: null,
    governance, seenAt: ts, attributes: { provider, [via === 'traffic' ? 'seenInTraffic' : 'seenInFlows']: 'true' },
  };
}

function mcpServerObservation(host: string, governance: GovernanceState, ts: string, via: 'traffic' | 'network'): AssetObservation {
  return {
    id: assetId('mcp', 'mcp_server', host), domain: 'mcp', kind: 'mcp_server', name: host, namespace: null, app: null,
    governance, seenAt: ts, attributes: { [via === 'traffic' ? 'seenInTraffic' : 'seenInFlows']: 'true' },
  };
}

/** The assets one call counts into: its workload, provider endpoint and model (when named). */
function callObservations(call: LlmCall, baseline: GovernanceBaseline) {
  const providerState: GovernanceState = isSanctionedProvider(baseline, call.provider, call.host) ? 'sanctioned' : 'tolerated';
  return {
    workload: workloadObservation(call.source, baseline, call.ts),
    provider: providerObservation(call.provider, call.host, providerState, call.ts, 'traffic'),
    model: call.model === null ? null : {
      id: assetId('llm', 'model', `${call.provider}:${call.model}`), domain: 'llm' as const, kind: 'model', name: call.model,
      namespace: null, app: null, governance: providerState, seenAt: call.ts, attributes: { provider: call.provider },
    },
  };
}

/** An MCP server is sanctioned when the baseline lists its host (as a provider entry) or the egress allowlist does. */
function mcpState(baseline: GovernanceBaseline, allowlist: readonly string[], host: string, unseen: GovernanceState): GovernanceState {
  return baseline.providers.includes(host) || matchesAllowlist(allowlist, host) ? 'sanctioned' : unseen;
}

function toolCallObservations(call: ToolCall, baseline: GovernanceBaseline, allowlist: readonly string[]) {
  const server = mcpServerObservation(call.host, mcpState(baseline, allowlist, call.host, 'tolerated'), call.ts, 'traffic');
  return {
    workload: workloadObservation(call.source, baseline, call.ts),
    server,
    tool: call.toolName === null ? null : {
      id: assetId('mcp', 'mcp_tool', `${call.host}/${call.toolName}`), domain: 'mcp' as const, kind: 'mcp_tool', name: call.toolName,
      namespace: null, app: null, governance: server.governance, seenAt: call.ts, attributes: { server: call.host },
    },
  };
}

/** What a flow's destination is, when it is AI or data; null for any other connection. */
export function flowDestination(flow: NetworkFlow, baseline: GovernanceBaseline, allowlist: readonly string[]): AssetObservation | null {
  const host = flow.dstHost ?? flow.dstIp;
  if (flow.provider === 'mcp') return mcpServerObservation(host, mcpState(baseline, allowlist, host, 'unsanctioned'), flow.ts, 'network');
  if (flow.provider !== null) {
    const state: GovernanceState = isSanctionedProvider(baseline, flow.provider, host) ? 'sanctioned' : 'unsanctioned';
    return providerObservation(flow.provider, host, state, flow.ts, 'network');
  }
  const inference = INFERENCE_PORTS[flow.dstPort];
  if (inference !== undefined) {
    const name = `${host}:${flow.dstPort}`;
    return {
      id: assetId('llm', 'provider', name), domain: 'llm', kind: 'inference_endpoint', name, namespace: null, app: null,
      governance: matchesAllowlist(allowlist, host) ? 'sanctioned' : 'unsanctioned', seenAt: flow.ts,
      attributes: { server: inference, seenInFlows: 'true' },
    };
  }
  const engine = DATA_PORTS[flow.dstPort];
  if (engine !== undefined) {
    const name = `${host}:${flow.dstPort}`;
    return {
      id: assetId('data', 'data_source', name), domain: 'data', kind: 'data_source', name, namespace: null, app: null,
      governance: matchesAllowlist(allowlist, host) ? 'sanctioned' : 'tolerated', seenAt: flow.ts, attributes: { engine, seenInFlows: 'true' },
    };
  }
  return null;
}

interface Tally {
  first: AssetObservation; firstIndex: number; count: number; firstAt: number; firstSeen: string; lastAt: number; lastSeen: string;
  attributes: Array<{ last: number; attributes: Record<string, string> }>;
}

/**
 * Sightings of one asset: `count` calls (0: the asset is created but no call
 * counted) seen from `o.seenAt` to `lastSeen`, the first of them at position
 * `first` of the batch and the last at `last`.
 */
interface Sighting { o: AssetObservation; count: number; lastSeen: string; first: number; last: number }

const single = (o: AssetObservation, counted: boolean, index: number): Sighting =>
  ({ o, count: counted ? 1 : 0, lastSeen: o.seenAt, first: index, last: index });

/**
 * Counts observations into their assets, creating them on first sight (with a
 * discovery transition). Sightings of one asset are tallied first, so a batch
 * costs one upsert per distinct asset; the result is what counting them one by
 * one in batch order gives: the first sighting names the asset, an attribute is
 * the last sighting's that has it.
 */
async function storeTallied(db: SqlExecutor, tenantId: string, sightings: readonly Sighting[]): Promise<Map<string, Asset>> {
  const tallies = new Map<string, Tally>();
  for (const { o, count, lastSeen, first, last } of sightings) {
    const at = Date.parse(o.seenAt);
    const lastAt = lastSeen === o.seenAt ? at : Date.parse(lastSeen);
    const t = tallies.get(o.id);
    if (!t) {
      tallies.set(o.id, {
        first: o, firstIndex: first, count, firstAt: at, firstSeen: o.seenAt, lastAt, lastSeen, attributes: [{ last, attributes: o.attributes }],
      });
      continue;
    }
    if (first < t.firstIndex) [t.first, t.firstIndex] = [o, first];
    t.count += count;
    if (at < t.firstAt) [t.firstAt, t.firstSeen] = [at, o.seenAt];
    if (lastAt > t.lastAt) [t.lastAt, t.lastSeen] = [lastAt, lastSeen];
    t.attributes.push({ last, attributes: o.attributes });
  }
  const stored = new Map<string, Asset>();
  const discovered: Asset[] = [];
  // one order for every batch: concurrent transactions lock the asset rows they upsert in the same order
  for (const [id, t] of [...tallies].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const attributes = Object.assign({}, ...t.attributes.sort((x, y) => x.last - y.last).map((a) => a.attributes)) as Record<string, string>;
    const { asset, created } = await observeAsset(db, {
      tenantId, asset: { ...t.first, seenAt: t.firstSeen, attributes }, count: t.count, lastSeenAt: t.lastSeen,
    });
    if (created) discovered.push(asset);
    stored.set(id, asset);
  }
  await insertGovernanceTransitions(db, {
    tenantId,
    entries: discovered.map((asset) => ({
      assetId: asset.id,
      transition: { from: null, to: asset.governance, by: DISCOVERY_ACTOR, at: asset.firstSeen, reason: discoveryReason(asset) },
    })),
  });
  return stored;
}

function discoveryReason(asset: Asset): string {
  if (asset.governance === 'sanctioned') return 'discovered; listed in the governance baseline';
  if (asset.governance === 'unsanctioned') return 'discovered in network flows only, outside the baseline: shadow AI';
  return 'discovered in inspected traffic; not in the governance baseline';
}

function pick(stored: Map<string, Asset>, o: AssetObservation): Asset {
  const a = stored.get(o.id);
  if (!a) throw new Error(`asset ${o.id} was not stored`);
  return a;
}

/** Tallies edges of one batch so each (from, to, kind) is one row of the upsert; `count` defaults to 1, `last` to `at`. */
function tallyEdges(list: ReadonlyArray<{ from: string; to: string; kind: EdgeKind; at: string; count?: number; last?: string }>): AssetEdge[] {
  const byKey = new Map<string, AssetEdge & { firstMs: number; lastMs: number }>();
  for (const e of list) {
    const ms = Date.parse(e.at);
    const last = e.last ?? e.at;
    const lastMs = last === e.at ? ms : Date.parse(last);
    const count = e.count ?? 1;
    const key = `${e.from}\u0000${e.to}\u0000${e.kind}`;
    const t = byKey.get(key);
    if (!t) {
      byKey.set(key, { from: e.from, to: e.to, kind: e.kind, count, firstSeen: e.at, lastSeen: last, firstMs: ms, lastMs });
      continue;
    }
    t.count += count;
    if (ms < t.firstMs) [t.firstMs, t.firstSeen] = [ms, e.at];
    if (lastMs > t.lastMs) [t.lastMs, t.lastSeen] = [lastMs, last];
  }
  return [...byKey.values()].map(({ firstMs: _f, lastMs: _l, ...e }) => e);
}

/** A call's null fields kept apart from the text "null" in a grouping key. */
const part = (v: string | null) => (v === null ? '\u0001' : v);

/**
 * Counts each LLM call into its three assets and the workload's edges to provider
 * and model. Calls naming the same workload, endpoint and model make the same
 * observations: they are grouped first and observed once per group, with their
 * count and time span (a 5 000-call batch is a few dozen groups).
 */
export async function recordCallsAssets(
  db: SqlExecutor, p: { tenantId: string; calls: readonly LlmCall[]; baseline: GovernanceBaseline },
): Promise<CallAssets[]> {
  interface Group { call: LlmCall; count: number; firstMs: number; firstTs: string; lastMs: number; lastTs: string; first: number; last: number }
  const groups = new Map<string, Group>();
  const groupOf: Group[] = [];
  p.calls.forEach((call, i) => {
    const { namespace, app, mode } = call.source;
    const key = `${part(namespace)}\u0000${part(app)}\u0000${part(mode)}\u0000${call.provider}\u0000${call.host}\u0000${part(call.model)}`;
    const ms = Date.parse(call.ts);
    let g = groups.get(key);
    if (!g) {
      g = { call, count: 0, firstMs: ms, firstTs: call.ts, lastMs: ms, lastTs: call.ts, first: i, last: i };
      groups.set(key, g);
    }
    g.count += 1;
    g.last = i;
    if (ms < g.firstMs) [g.firstMs, g.firstTs] = [ms, call.ts];
    if (ms > g.lastMs) [g.lastMs, g.lastTs] = [ms, call.ts];
    groupOf.push(g);
  });
  const perGroup = new Map([...groups.values()].map((g) => [g, callObservations({ ...g.call, ts: g.firstTs }, p.baseline)]));
  const sightings: Sighting[] = [];
  const edges: Array<{ from: string; to: string; kind: EdgeKind; at: string; count: number; last: string }> = [];
  for (const [g, c] of perGroup) {
    for (const o of [c.workload, c.provider, c.model]) if (o) sightings.push({ o, count: g.count, lastSeen: g.lastTs, first: g.first, last: g.last });
    edges.push({ from: c.workload.id, to: c.provider.id, kind: 'calls', at: g.firstTs, count: g.count, last: g.lastTs });
    if (c.model) edges.push({ from: c.workload.id, to: c.model.id, kind: 'model', at: g.firstTs, count: g.count, last: g.lastTs });
  }
  const stored = await storeTallied(db, p.tenantId, sightings);
  await observeEdges(db, { tenantId: p.tenantId, edges: tallyEdges(edges) });
  const assets = new Map([...perGroup].map(([g, c]) => [g, {
    workload: pick(stored, c.workload), provider: pick(stored, c.provider), model: c.model && pick(stored, c.model),
  } satisfies CallAssets]));
  return groupOf.map((g) => assets.get(g)!);
}

/** Counts each MCP call into its workload, server and tool, with the workload → server → tool edges. */
export async function recordToolCallsAssets(
  db: SqlExecutor, p: { tenantId: string; calls: readonly ToolCall[]; baseline: GovernanceBaseline; allowlist: readonly string[] },
): Promise<ToolCallAssets[]> {
  const perCall = p.calls.map((call) => toolCallObservations(call, p.baseline, p.allowlist));
  const stored = await storeTallied(db, p.tenantId, perCall.flatMap((c) => [c.workload, c.server, c.tool])
    .filter((o): o is AssetObservation => o !== null).map((o, i) => single(o, true, i)));
  await observeEdges(db, {
    tenantId: p.tenantId,
    edges: tallyEdges(perCall.flatMap((c) => [
      { from: c.workload.id, to: c.server.id, kind: 'mcp' as const, at: c.server.seenAt },
      ...(c.tool ? [{ from: c.server.id, to: c.tool.id, kind: 'tool' as const, at: c.server.seenAt }] : []),
    ])),
  });
  return perCall.map((c) => ({ workload: pick(stored, c.workload), server: pick(stored, c.server), tool: c.tool && pick(stored, c.tool) }));
}

/**
 * Turns flows to AI or data destinations into assets and `flow` edges; other
 * flows (null in the result) stay in telemetry only. A flow is a connection,
 * not a call: it creates assets and counts edges but adds no call to an asset.
 */
export async function recordFlowsAssets(
  db: SqlExecutor, p: { tenantId: string; flows: readonly NetworkFlow[]; baseline: GovernanceBaseline; allowlist: readonly string[] },
): Promise<Array<FlowAssets | null>> {
  const perFlow = p.flows.map((flow) => {
    const destination = flowDestination(flow, p.baseline, p.allowlist);
    return destination === null ? null : { workload: workloadObservation(flow.source, p.baseline, flow.ts), destination };
  });
  const relevant = perFlow.filter((f): f is NonNullable<typeof f> => f !== null);
  if (relevant.length === 0) return perFlow.map(() => null);
  const stored = await storeTallied(db, p.tenantId, relevant.flatMap((f) => [f.workload, f.destination]).map((o, i) => single(o, false, i)));
  await observeEdges(db, {
    tenantId: p.tenantId,
    edges: tallyEdges(relevant.map((f) => ({ from: f.workload.id, to: f.destination.id, kind: 'flow' as const, at: f.destination.seenAt }))),
  });
  return perFlow.map((f) => f && { workload: pick(stored, f.workload), destination: pick(stored, f.destination) });
}
