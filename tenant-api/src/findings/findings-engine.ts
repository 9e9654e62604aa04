/**
 * The findings engine: turns each newly stored LLM call into occurrences of
 * findings on its calling workload, de-duplicated by (assetId, detector).
 * A blocked call still counts: its PII is evidence of attempted egress.
 */
import type { Finding, FindingCategory, FindingEvidence, LlmCall, PiiType, Severity } from '@higgs/schema';
import type { CallAssets } from '../registry/asset-registry.ts';
import { getFindingByKeyForUpdate, insertFinding, updateFindingOccurrence } from '../stores/findings-repository.ts';
import { newId } from '../stores/rows.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';

/** Score at which a call's prompt counts as an injection attempt. */
export const INJECTION_THRESHOLD = 50;
/** How many of the latest call ids / sessions / users / hashes a finding keeps. */
export const EVIDENCE_LIMIT = 20;

export const PII_SEVERITY: Record<PiiType, Severity> = {
  ssn: 'critical', credit_card: 'critical', iban: 'critical', passport: 'critical', national_id: 'critical', secret: 'critical',
  email: 'medium', phone: 'medium', person: 'medium', address: 'medium',
  ip_address: 'low',
};

interface Occurrence {
  category: FindingCategory;
  detector: string;
  severity: Severity;
  title: string;
  piiType: PiiType | null;
  valueHashes: string[];
  injectionScore: number | null;
}

/** What this call is evidence of, before de-duplication. */
export function occurrencesOf(call: LlmCall, assets: CallAssets): Occurrence[] {
  const where = assets.workload.name;
  const out: Occurrence[] = [];
  const byType = new Map<PiiType, string[]>();
  for (const d of call.detections) byType.set(d.type, [...(byType.get(d.type) ?? []), d.hash]);
  for (const [type, hashes] of byType) {
    out.push({
      category: 'pii', detector: `pii.${type}`, severity: PII_SEVERITY[type], piiType: type, valueHashes: hashes, injectionScore: null,
      title: type === 'secret' ? `Secrets sent to LLM providers from ${where}` : `PII (${type}) sent to LLM providers from ${where}`,
    });
  }
  if (call.injectionScore >= INJECTION_THRESHOLD) {
    out.push({
      category: 'injection', detector: 'injection.prompt', severity: 'high', piiType: null, valueHashes: [],
      injectionScore: call.injectionScore, title: `Prompt injection in LLM traffic of ${where}`,
    });
  }
  if (assets.workload.governance !== 'sanctioned') {
    out.push({
      category: 'shadow', detector: 'shadow.namespace', severity: 'high', piiType: null, valueHashes: [], injectionScore: null,
      title: `Shadow AI: ${where} calls LLMs from a namespace outside the baseline`,
    });
  }
  if (assets.provider.governance !== 'sanctioned') {
    out.push({
      category: 'shadow', detector: `shadow.provider.${call.host}`, severity: 'medium', piiType: null, valueHashes: [],
      injectionScore: null, title: `Shadow AI: ${where} calls unsanctioned provider ${call.host}`,
    });
  }
  return out;
}

function latest(previous: readonly string[], fresh: readonly string[]): string[] {
  const merged = [...new Set([...fresh, ...previous])];
  return merged.slice(0, EVIDENCE_LIMIT);
}

function mergeEvidence(previous: FindingEvidence | null, call: LlmCall, o: Occurrence): FindingEvidence {
  const prevScore = previous?.maxInjectionScore ?? null;
  return {
    callIds: latest(previous?.callIds ?? [], [call.id]),
    sessionIds: latest(previous?.sessionIds ?? [], [call.attribution.sessionId]),
    users: latest(previous?.users ?? [], call.attribution.userId === null ? [] : [call.attribution.userId]),
    valueHashes: latest(previous?.valueHashes ?? [], o.valueHashes),
    provider: call.provider,
    model: call.model,
    host: call.host,
    namespace: call.source.namespace,
    app: call.source.app,
    piiType: o.piiType,
    maxInjectionScore: o.injectionScore === null ? prevScore : Math.max(prevScore ?? 0, o.injectionScore),
  };
}

/**
 * Records the occurrences of newly stored calls, in call order; returns the
 * findings they created or touched. Each finding is read once and written once
 * per batch, however many calls hit it, with the same result as one call at a time.
 */
export async function recordCallsFindings(
  db: SqlExecutor, p: { tenantId: string; calls: ReadonlyArray<{ call: LlmCall; assets: CallAssets }> },
): Promise<Finding[]> {
  const { tenantId } = p;
  const touched = new Map<string, { finding: Finding; isNew: boolean }>();
  for (const { call, assets } of p.calls) {
    // the scanner may send any offset; compare instants in one notation
    const at = new Date(call.ts).toISOString();
    for (const o of occurrencesOf(call, assets)) {
      const key = `${assets.workload.id}\u0000${o.detector}`;
      let entry = touched.get(key);
      if (!entry) {
        const existing = await getFindingByKeyForUpdate(db, { tenantId, assetId: assets.workload.id, detector: o.detector });
        if (existing) {
          entry = { finding: existing, isNew: false };
        } else {
          const created: Finding = {
            id: newId('fnd'), category: o.category, severity: o.severity, status: 'open', title: o.title,
            assetId: assets.workload.id, detector: o.detector, count: 1, firstSeen: at, lastSeen: at,
            evidence: mergeEvidence(null, call, o),
          };
          touched.set(key, { finding: created, isNew: true });
          continue;
        }
        touched.set(key, entry);
      }
      const f = entry.finding;
      entry.finding = {
        ...f,
        count: f.count + 1,
        firstSeen: at < f.firstSeen ? at : f.firstSeen,
        lastSeen: at > f.lastSeen ? at : f.lastSeen,
        evidence: mergeEvidence(f.evidence, call, o),
      };
    }
  }
  for (const { finding, isNew } of touched.values()) {
    if (isNew) await insertFinding(db, { tenantId, finding });
    else await updateFindingOccurrence(db, { tenantId, finding });
  }
  return [...touched.values()].map((e) => e.finding);
}
