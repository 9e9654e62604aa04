/**
 * The tenant's implementation of the `HiggsServices` port: every tool runs
 * through here. Every call is scoped by `ctx.principal.tenantId`; every change
 * to state is one transaction together with its audit record, and a policy
 * change bumps the tenant's policy version and wakes the scanners' long-polls.
 */
import {
  FindingCategory, type Finding, type Proposal, type Quarantine, type Rule, type RuleMatch,
} from '@higgs/schema';
import {
  ToolError, type HiggsServices, type NewProposal, type ProposalCompletion, type ProposalDecision, type ServiceContext,
} from '@higgs/tools';
import type { ToolOutput } from '@higgs/schema';
import { canonicalJson } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { createAttributionServices } from './attribution-services.ts';
import type { CostSettings } from '../cost/index.ts';
import { createFindingsServices } from './findings-services.ts';
import { createKernelServices } from './kernel-services.ts';
import { createKnowledgeServices, type KnowledgeServiceOptions } from './knowledge-services.ts';
import { createSecurityServices } from './security-services.ts';
import { createServiceKit } from './service-kit.ts';
import { obligationsFor, remediationFor, suggestedActionFor } from '../compliance/control-map.ts';
import { INJECTION_THRESHOLD } from '../findings/findings-engine.ts';
import type { PolicyNotifier } from '../policy/policy-notifier.ts';
import { countAssets, getAsset, listAssets } from '../stores/assets-repository.ts';
import { appendAudit, listAudit } from '../stores/audit-repository.ts';
import { countOpenFindingsByCategory, getFinding, listFindings, setFindingStatus } from '../stores/findings-repository.ts';
import { countPacks, insertPackMetadata } from '../stores/packs-repository.ts';
import {
  completeApprovedProposal, countPendingProposals, decidePendingProposal, getProposal, insertProposal, listProposals,
} from '../stores/proposals-repository.ts';
import { getActiveQuarantine, insertActiveQuarantine, listQuarantines } from '../stores/quarantines-repository.ts';
import { newId } from '../stores/rows.ts';
import { countActiveRules, disableRule as disableRuleRow, insertRule, listRules } from '../stores/rules-repository.ts';
import { countSessions } from '../stores/sessions-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { createSqlTelemetryStore } from '../stores/sql-telemetry-store.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { RE2JS } from 're2js';

type Pack = ToolOutput<'generate_compliance_pack'>['pack'];

export interface ServicesDeps {
  db: SqlClient;
  /** the observations; default: the SQL tables in `db` */
  telemetry?: TelemetryStore;
  notifier: PolicyNotifier;
  /** injectable for tests; defaults to the wall clock */
  now?: () => Date;
  /** price overrides and the app/namespace → team mapping of the cost report (HIGGS_COST_FILE) */
  cost?: CostSettings;
  /** the knowledge base's embedder (HIGGS_EMBEDDINGS_*); default the local hashed one */
  knowledge?: KnowledgeServiceOptions;
}

/** How many open findings the briefing lists for a decision. */
const NEEDS_DECISION_LIMIT = 20;
/** Upper bound of decisions / audit records a compliance pack embeds. */
const PACK_ROW_LIMIT = 10_000;

export function createHiggsServices(deps: ServicesDeps): HiggsServices {
  const { db, notifier } = deps;
  const telemetry = deps.telemetry ?? createSqlTelemetryStore(db);
  const kit = createServiceKit({ db, telemetry, notifier, ...(deps.now ? { now: deps.now } : {}) });
  const { now, tenantOf, audited } = kit;

  async function requireFinding(ctx: ServiceContext, id: string): Promise<Finding> {
    const finding = await getFinding(db, { tenantId: tenantOf(ctx), id });
    if (!finding) throw new ToolError('NOT_FOUND', `finding ${id} not found`);
    return finding;
  }

  function blockRuleFor(finding: Finding): { name: string; match: RuleMatch } {
    const e = finding.evidence;
    switch (finding.category) {
      case 'pii':
        if (e.piiType === null) break;
        return { name: `Block PII egress: ${e.piiType}`, match: { piiTypes: [e.piiType] } };
      case 'injection':
        return { name: `Block prompt injection (score ≥ ${INJECTION_THRESHOLD})`, match: { injectionScoreGte: INJECTION_THRESHOLD } };
      case 'access':
      case 'authentication':
        if (e.host === null) break;
        return { name: `Block target: ${e.host}`, match: { hosts: [e.host] } };
      default:
        break;
    }
    const hint = finding.category === 'shadow' ? '; quarantine its namespace instead' : '';
    throw new ToolError('INVALID_INPUT', `finding ${finding.id} (${finding.category}) has no pattern to block${hint}`);
  }

  return {
    ...createFindingsServices(kit),
    ...createAttributionServices(kit, { ...(deps.cost ? { cost: deps.cost } : {}) }),
    ...createSecurityServices(kit),
    ...createKernelServices(kit),
    ...createKnowledgeServices(kit, deps.knowledge ?? {}),
    async briefingSummary(ctx) {
      const tenantId = tenantOf(ctx);
      const [assets, sessions, calls, byCategory, enforcementActions, evidencePacks, activeRules, pendingProposals, open] = await Promise.all([
        countAssets(db, { tenantId }),
        countSessions(db, { tenantId }),
        telemetry.countLlmCalls({ tenantId }),
        countOpenFindingsByCategory(db, { tenantId }),
        telemetry.countEnforcementActions({ tenantId }),
        countPacks(db, { tenantId }),
        countActiveRules(db, { tenantId }),
        countPendingProposals(db, { tenantId }),
        listFindings(db, { tenantId, filter: { status: 'open' }, limit: NEEDS_DECISION_LIMIT }),
      ]);
      const findingsByCategory = Object.fromEntries(
        FindingCategory.options.map((c) => [c, byCategory[c] ?? 0]),
      ) as Record<FindingCategory, number>;
      return {
        counts: {
          assets, sessions, calls, enforcementActions, evidencePacks, activeRules, pendingProposals,
          openFindings: Object.values(findingsByCategory).reduce((s, n) => s + n, 0),
        },
        findingsByCategory,
        needsDecision: open.findings.map((finding) => ({ finding, suggestedAction: suggestedActionFor(finding) })),
      };
    },

    async listFindings(ctx, input) {
      const { limit, cursor, ...filter } = input;
      return listFindings(db, { tenantId: tenantOf(ctx), filter, limit, cursor });
    },

    async getFinding(ctx, input) {
      const finding = await requireFinding(ctx, input.id);
      const asset = await getAsset(db, { tenantId: tenantOf(ctx), id: finding.assetId });
      return {
        finding, asset, obligations: obligationsFor(finding), suggestedAction: suggestedActionFor(finding), remediation: remediationFor(finding),
      };
    },

    async listAssets(ctx, input) {
      return listAssets(db, { tenantId: tenantOf(ctx), ...input });
    },

    async listRules(ctx, input) {
      return { rules: await listRules(db, { tenantId: tenantOf(ctx), includeDisabled: input.includeDisabled }) };
    },

    async listProposals(ctx, input) {
      return { proposals: await listProposals(db, { tenantId: tenantOf(ctx), status: input.status }) };
    },

    async addInlineRule(ctx, input) {
      assertPatterns(input.match);
      const rule: Rule = {
        id: newId('rul'), name: input.name, action: input.action, match: input.match, enabled: true,
        createdBy: ctx.principal.id, createdAt: now(), sourceFindingId: null,
      };
      return audited(ctx, async (tx) => {
        await insertRule(tx, { tenantId: tenantOf(ctx), rule });
        return {
          value: { rule }, policyChanged: true,
          audit: { action: 'add_inline_rule', target: rule.id, details: { name: rule.name, action: rule.action, match: rule.match, reason: input.reason } },
        };
      });
    },

    async disableRule(ctx, input) {
      return audited(ctx, async (tx) => {
        const out = await disableRuleRow(tx, { tenantId: tenantOf(ctx), id: input.ruleId });
        if (!out) throw new ToolError('NOT_FOUND', `rule ${input.ruleId} not found`);
        if (!out.changed) return { value: { rule: out.rule }, audit: null, policyChanged: false };
        return {
          value: { rule: out.rule }, policyChanged: true,
          audit: { action: 'disable_rule', target: out.rule.id, details: { name: out.rule.name, reason: input.reason } },
        };
      });
    },

    async blockFromFinding(ctx, input) {
      const tenantId = tenantOf(ctx);
      const finding = await requireFinding(ctx, input.findingId);
      const { name, match } = blockRuleFor(finding);
      return audited(ctx, async (tx) => {
        // checked inside the transaction: approving the same block twice must not stack rules
        const existing = (await listRules(tx, { tenantId, includeDisabled: false }))
          .find((r) => r.sourceFindingId === finding.id && r.action === 'block');
        if (existing) return { value: { rule: existing }, audit: null, policyChanged: false };
        const rule: Rule = {
          id: newId('rul'), name, action: 'block', match, enabled: true, createdBy: ctx.principal.id, createdAt: now(), sourceFindingId: finding.id,
        };
        await insertRule(tx, { tenantId, rule });
        await setFindingStatus(tx, { tenantId, id: finding.id, status: 'acknowledged', onlyFrom: 'open' });
        return {
          value: { rule }, policyChanged: true,
          audit: { action: 'block_from_finding', target: rule.id, details: { findingId: finding.id, name, match } },
        };
      });
    },

    async quarantineNamespace(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        const quarantine: Quarantine = {
          id: newId('qtn'), namespace: input.namespace, reason: input.reason, createdBy: ctx.principal.id, createdAt: now(),
          active: true, releasedAt: null, enforcement: 'recorded',
        };
        // a namespace already quarantined answers with the quarantine in force and changes nothing; the
        // loop covers a concurrent release between the refused insert and the read (PostgreSQL, read committed)
        for (let attempt = 0; !(await insertActiveQuarantine(tx, { tenantId, quarantine })); attempt++) {
          const active = await getActiveQuarantine(tx, { tenantId, namespace: input.namespace });
          if (active) return { value: { quarantine: active }, audit: null, policyChanged: false };
          if (attempt === 2) throw new ToolError('CONFLICT', `quarantine of ${input.namespace} is being changed concurrently; retry`);
        }
        return {
          value: { quarantine }, policyChanged: true,
          audit: { action: 'quarantine_namespace', target: input.namespace, details: { quarantineId: quarantine.id, reason: input.reason } },
        };
      });
    },

    async generateCompliancePack(ctx, input) {
      const tenantId = tenantOf(ctx);
      const range = { from: new Date(input.from).toISOString(), to: new Date(input.to).toISOString() };
      if (range.from >= range.to) throw new ToolError('INVALID_INPUT', '`from` must be before `to`');
      const [calls, piiFlows, rules, decisions, quarantines, audit] = await Promise.all([
        telemetry.summarizeCalls({ tenantId, ...range }),
        telemetry.listPiiFlows({ tenantId, ...range }),
        listRules(db, { tenantId, includeDisabled: true }),
        telemetry.listDecisions({ tenantId, ...range, limit: PACK_ROW_LIMIT }),
        listQuarantines(db, { tenantId, activeOnly: false, before: range.to }),
        listAudit(db, { tenantId, ...range, limit: PACK_ROW_LIMIT }),
      ]);
      const body: Omit<Pack, 'digest'> = {
        id: newId('pck'), generatedAt: now(), generatedBy: ctx.principal.id, range, calls, piiFlows, rules, decisions, quarantines, audit,
      };
      const pack: Pack = { ...body, digest: sha256Hex(canonicalJson(body)) };
      return audited(ctx, async (tx) => {
        await insertPackMetadata(tx, {
          tenantId, pack: { id: pack.id, generatedAt: pack.generatedAt, generatedBy: pack.generatedBy, ...range, digest: pack.digest },
        });
        return {
          value: { pack }, policyChanged: false,
          audit: { action: 'generate_compliance_pack', target: pack.id, details: { ...range, digest: pack.digest } },
        };
      });
    },

    async createProposal(ctx, input: NewProposal) {
      const proposal: Proposal = {
        id: newId('prp'), tool: input.tool, args: input.args, argsHash: input.argsHash, title: input.title, rationale: input.rationale,
        findingId: input.findingId, status: 'pending', proposedBy: ctx.principal.id, createdAt: now(), expiresAt: input.expiresAt,
        decidedBy: null, decidedAt: null, result: null,
      };
      return audited(ctx, async (tx) => {
        await insertProposal(tx, { tenantId: tenantOf(ctx), proposal });
        return {
          value: proposal, policyChanged: false,
          audit: { action: 'propose_action', target: proposal.id, details: { tool: proposal.tool, args: proposal.args, argsHash: proposal.argsHash } },
        };
      });
    },

    async getProposal(ctx, id) {
      return getProposal(db, { tenantId: tenantOf(ctx), id });
    },

    async decideProposal(ctx, decision: ProposalDecision) {
      const tenantId = tenantOf(ctx);
      const decidedAt = now();
      const { proposal } = await db.transaction(async (tx) => {
        const decided = await decidePendingProposal(tx, {
          tenantId, id: decision.id, status: decision.status, decidedBy: ctx.principal.id, decidedAt, result: decision.result,
        });
        if (decided) {
          await appendAudit(tx, {
            tenantId,
            entry: { actor: ctx.principal.id, action: `proposal_${decision.status}`, target: decided.id, details: { tool: decided.tool, argsHash: decided.argsHash } },
          });
        }
        return { proposal: decided };
      });
      return proposal;
    },

    async completeProposal(ctx, completion: ProposalCompletion) {
      const tenantId = tenantOf(ctx);
      return db.transaction(async (tx) => {
        const completed = await completeApprovedProposal(tx, { tenantId, ...completion });
        // the approval was audited when it was claimed; only a failure adds a record
        if (completed?.status === 'failed') {
          await appendAudit(tx, {
            tenantId,
            entry: {
              actor: ctx.principal.id, action: 'proposal_failed', target: completed.id,
              details: { tool: completed.tool, argsHash: completed.argsHash, ...completion.result },
            },
          });
        }
        return completed;
      });
    },

    async audit(ctx, entry) {
      const tenantId = tenantOf(ctx);
      await db.transaction((tx) => appendAudit(tx, { tenantId, entry: { ...entry, actor: ctx.principal.id } }));
    },
  } satisfies HiggsServices;
}

/**
 * Every pattern of a rule must compile in RE2, the engine the scanner runs them on (re2js, as
 * scanner/src/rules compiles them): the scanner skips a rule it cannot compile, so a pattern JS
 * accepts and RE2 does not (a look-behind, a back-reference) made a rule that was listed, audited
 * and never enforced. Checked here, where the one who writes it is told.
 */
function assertPatterns(match: Rule['match']): void {
  for (const field of ['promptPattern', 'responsePattern', 'toolInputPattern', 'toolOutputPattern'] as const) {
    const source = match[field];
    if (source === undefined) continue;
    try {
      RE2JS.compile(source);
    } catch (cause) {
      throw new ToolError('INVALID_INPUT', `${field} is not a pattern RE2 runs (the scanner's engine: no look-around, no back-references): ${(cause as Error).message}`, { cause });
    }
  }
}

