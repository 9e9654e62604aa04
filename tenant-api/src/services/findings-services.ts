import type { Asset, Severity } from '@higgs/schema';
import { ToolError, type FindingsServices } from '@higgs/tools';
import { scoreRisk } from '../findings/risk.ts';
import { workloadName } from '../registry/asset-registry.ts';
import { getAsset, getAssetsByIds, listEdges, listGovernanceTransitions, setAssetGovernance } from '../stores/assets-repository.ts';
import {
  changeFindingStatus, listFindings, listRiskFindings, SEVERITY_RANK, summarizeOpenFindingsByAsset,
} from '../stores/findings-repository.ts';
import type { ServiceKit } from './service-kit.ts';

/** How many findings get_asset lists. */
const ASSET_FINDINGS_LIMIT = 50;
const SEVERITY_BY_RANK = Object.fromEntries(Object.entries(SEVERITY_RANK).map(([s, r]) => [r, s])) as Record<number, Severity>;

/** The tenant's findings services: assets, governance, finding lifecycle, risk and topology. */
export function createFindingsServices(kit: ServiceKit): FindingsServices {
  const { db, tenantOf, audited } = kit;
  const clock = () => new Date(kit.now());

  async function requireAsset(tenantId: string, id: string): Promise<Asset> {
    const asset = await getAsset(db, { tenantId, id });
    if (!asset) throw new ToolError('NOT_FOUND', `asset ${id} not found`);
    return asset;
  }

  return {
    async getAsset(ctx, input) {
      const tenantId = tenantOf(ctx);
      const asset = await requireAsset(tenantId, input.id);
      const [page, governanceHistory, riskFindings] = await Promise.all([
        listFindings(db, { tenantId, filter: { assetId: asset.id }, limit: ASSET_FINDINGS_LIMIT }),
        listGovernanceTransitions(db, { tenantId, assetId: asset.id }),
        listRiskFindings(db, { tenantId, assetId: asset.id }),
      ]);
      const risk = scoreRisk({ type: 'asset', id: asset.id, name: asset.name }, riskFindings, clock());
      return { asset, findings: page.findings, governanceHistory, risk };
    },

    async explainRiskScore(ctx, input) {
      const tenantId = tenantOf(ctx);
      if (input.assetId !== undefined) {
        const asset = await requireAsset(tenantId, input.assetId);
        const findings = await listRiskFindings(db, { tenantId, assetId: asset.id });
        return { risk: scoreRisk({ type: 'asset', id: asset.id, name: asset.name }, findings, clock()) };
      }
      // the contract admits exactly one of assetId / app
      const app = input.app as string;
      const findings = await listRiskFindings(db, { tenantId, app, namespace: input.namespace });
      const name = input.namespace === undefined ? app : workloadName(input.namespace, app);
      return { risk: scoreRisk({ type: 'app', id: name, name }, findings, clock()) };
    },

    async topology(ctx, input) {
      const tenantId = tenantOf(ctx);
      const { edges, truncated } = await listEdges(db, { tenantId, ...input });
      const ids = [...new Set(edges.flatMap((e) => [e.from, e.to]))];
      const [assets, open] = await Promise.all([
        getAssetsByIds(db, { tenantId, ids }),
        summarizeOpenFindingsByAsset(db, { tenantId, assetIds: ids }),
      ]);
      const nodes = assets.sort((a, b) => a.id.localeCompare(b.id)).map((a) => {
        const o = open.get(a.id);
        return {
          id: a.id, name: a.name, domain: a.domain, kind: a.kind, governance: a.governance, namespace: a.namespace, app: a.app,
          callCount: a.callCount, openFindings: o?.open ?? 0, maxSeverity: o ? SEVERITY_BY_RANK[o.minRank] ?? null : null,
        };
      });
      return { nodes, edges, truncated };
    },

    async setGovernanceState(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        const changed = await setAssetGovernance(tx, {
          tenantId, id: input.assetId, to: input.state, by: ctx.principal.id, at: kit.now(), reason: input.reason,
        });
        if (!changed) throw new ToolError('NOT_FOUND', `asset ${input.assetId} not found`);
        const { asset, transition } = changed;
        return {
          value: { asset, transition },
          // sanctioning is a policy decision, but the scanners' policy does not carry governance: no version bump
          policyChanged: false,
          audit: transition === null ? null : {
            action: 'set_governance_state', target: asset.id,
            details: { name: asset.name, kind: asset.kind, from: transition.from, to: transition.to, reason: input.reason },
          },
        };
      });
    },

    async updateFindingStatus(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        const changed = await changeFindingStatus(tx, {
          tenantId, id: input.findingId, status: input.status, by: ctx.principal.id, at: kit.now(), reason: input.reason,
        });
        if (!changed) throw new ToolError('NOT_FOUND', `finding ${input.findingId} not found`);
        return {
          value: { finding: changed.after },
          policyChanged: false,
          audit: {
            action: 'update_finding_status', target: input.findingId,
            details: { from: changed.before.status, to: input.status, reason: input.reason, detector: changed.before.detector },
          },
        };
      });
    },
  };
}
