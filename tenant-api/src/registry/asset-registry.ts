/**
 * The asset registry: every LLM call names a calling workload (domain agents),
 * a provider endpoint and a model (domain llm). Governance starts from the
 * tenant's baseline: sanctioned when listed there, tolerated otherwise.
 */
import type { Asset, GovernanceState, LlmCall } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { observeAsset, type AssetObservation } from '../stores/assets-repository.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';
import type { GovernanceBaseline } from '../stores/tenants-repository.ts';

/** Stable per tenant: the same workload / endpoint / model always maps to one asset. */
export function assetId(domain: string, kind: string, name: string): string {
  return `ast_${sha256Hex(`${domain}\u0000${kind}\u0000${name}`).slice(0, 24)}`;
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

export interface CallAssets {
  workload: Asset;
  provider: Asset;
  model: Asset | null;
}

/** The assets one call counts into: its workload, provider endpoint and model (when named). */
function observationsOf(call: LlmCall, baseline: GovernanceBaseline): { workload: AssetObservation; provider: AssetObservation; model: AssetObservation | null } {
  const { namespace, app } = call.source;
  const name = workloadName(namespace, app);
  const providerState: GovernanceState = isSanctionedProvider(baseline, call.provider, call.host) ? 'sanctioned' : 'tolerated';
  return {
    workload: {
      id: assetId('agents', 'workload', name), domain: 'agents', kind: 'workload', name, namespace, app,
      governance: isSanctionedNamespace(baseline, namespace) ? 'sanctioned' : 'tolerated',
      seenAt: call.ts, attributes: call.source.mode ? { mode: call.source.mode } : {},
    },
    provider: {
      id: assetId('llm', 'provider', call.host), domain: 'llm', kind: 'provider', name: call.host, namespace: null, app: null,
      governance: providerState, seenAt: call.ts, attributes: { provider: call.provider },
    },
    model: call.model === null ? null : {
      id: assetId('llm', 'model', `${call.provider}:${call.model}`), domain: 'llm', kind: 'model', name: call.model,
      namespace: null, app: null, governance: providerState, seenAt: call.ts, attributes: { provider: call.provider },
    },
  };
}

interface Tally { first: AssetObservation; count: number; firstAt: number; firstSeen: string; lastAt: number; lastSeen: string; attributes: Record<string, string> }

/**
 * Counts each call into its three assets, creating them on first sight. Calls
 * sharing an asset are tallied first, so a batch costs one upsert per distinct
 * asset, not three per call; the result is what counting them one by one gives.
 */
export async function recordCallsAssets(
  db: SqlExecutor, p: { tenantId: string; calls: readonly LlmCall[]; baseline: GovernanceBaseline },
): Promise<CallAssets[]> {
  const perCall = p.calls.map((call) => observationsOf(call, p.baseline));
  const tallies = new Map<string, Tally>();
  for (const o of perCall.flatMap((c) => [c.workload, c.provider, c.model])) {
    if (o === null) continue;
    const at = Date.parse(o.seenAt);
    const t = tallies.get(o.id);
    if (!t) {
      tallies.set(o.id, { first: o, count: 1, firstAt: at, firstSeen: o.seenAt, lastAt: at, lastSeen: o.seenAt, attributes: { ...o.attributes } });
      continue;
    }
    t.count += 1;
    if (at < t.firstAt) [t.firstAt, t.firstSeen] = [at, o.seenAt];
    if (at > t.lastAt) [t.lastAt, t.lastSeen] = [at, o.seenAt];
    Object.assign(t.attributes, o.attributes);
  }
  const stored = new Map<string, Asset>();
  for (const [id, t] of tallies) {
    const { asset } = await observeAsset(db, {
      tenantId: p.tenantId, asset: { ...t.first, seenAt: t.firstSeen, attributes: t.attributes }, count: t.count, lastSeenAt: t.lastSeen,
    });
    stored.set(id, asset);
  }
  const get = (o: AssetObservation) => {
    const a = stored.get(o.id);
    if (!a) throw new Error(`asset ${o.id} was not stored`);
    return a;
  };
  return perCall.map((c) => ({ workload: get(c.workload), provider: get(c.provider), model: c.model === null ? null : get(c.model) }));
}
