/**
 * The asset registry: every LLM call names a calling workload (domain agents),
 * a provider endpoint and a model (domain llm). Governance starts from the
 * tenant's baseline: sanctioned when listed there, tolerated otherwise.
 */
import type { Asset, GovernanceState, LlmCall } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { observeAsset } from '../stores/assets-repository.ts';
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

/** Counts the call into its three assets, creating them on first sight. */
export async function recordCallAssets(
  db: SqlExecutor, p: { tenantId: string; call: LlmCall; baseline: GovernanceBaseline },
): Promise<CallAssets> {
  const { call, baseline, tenantId } = p;
  const { namespace, app } = call.source;
  const name = workloadName(namespace, app);
  const providerState: GovernanceState = isSanctionedProvider(baseline, call.provider, call.host) ? 'sanctioned' : 'tolerated';
  const workload = await observeAsset(db, {
    tenantId,
    asset: {
      id: assetId('agents', 'workload', name), domain: 'agents', kind: 'workload', name, namespace, app,
      governance: isSanctionedNamespace(baseline, namespace) ? 'sanctioned' : 'tolerated',
      seenAt: call.ts, attributes: call.source.mode ? { mode: call.source.mode } : {},
    },
  });
  const provider = await observeAsset(db, {
    tenantId,
    asset: {
      id: assetId('llm', 'provider', call.host), domain: 'llm', kind: 'provider', name: call.host, namespace: null, app: null,
      governance: providerState, seenAt: call.ts, attributes: { provider: call.provider },
    },
  });
  const model = call.model === null ? null : await observeAsset(db, {
    tenantId,
    asset: {
      id: assetId('llm', 'model', `${call.provider}:${call.model}`), domain: 'llm', kind: 'model', name: call.model,
      namespace: null, app: null, governance: providerState, seenAt: call.ts, attributes: { provider: call.provider },
    },
  });
  return { workload: workload.asset, provider: provider.asset, model: model?.asset ?? null };
}
