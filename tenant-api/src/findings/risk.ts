/**
 * Risk scores: the one place they are computed. Per asset and per application,
 * from the findings that are still open or acknowledged:
 *
 *   contribution(f) = severityWeight(f) × exposure(f) × recency(f)
 *     severityWeight: critical 10, high 5, medium 2, low 1
 *     exposure:       1 + log10(occurrences), capped at 3 (1 at one, 2 at ten, 3 from a hundred)
 *     recency:        0.5 ^ (days since last seen / 7), floored at 0.1 (an open finding never stops counting)
 *   total = Σ contribution
 *   score = round(100 × (1 − e^(−total / 20)))      0 = no open risk … 100
 *   securityScore = 100 − score                       the product's 0–100 "100 = no risk" view
 *
 * One fresh critical finding scores 39; two 63; one fresh high 22; one fresh
 * medium 10. Resolved and suppressed findings do not count.
 */
import type { Finding, Severity } from '@higgs/schema';
import type { RiskFactor, RiskLevel, RiskScore } from '@higgs/schema';

export const SEVERITY_WEIGHT: Record<Severity, number> = { critical: 10, high: 5, medium: 2, low: 1 };
export const RECENCY_HALF_LIFE_DAYS = 7;
export const RECENCY_FLOOR = 0.1;
export const EXPOSURE_CAP = 3;
/** The total at which the score reaches 1 − 1/e ≈ 63. */
export const SATURATION = 20;
/** How many factors an explanation lists; all findings count in the score. */
export const FACTOR_LIMIT = 50;

const DAY_MS = 86_400_000;

export const RISK_FORMULA =
  'Each open or acknowledged finding contributes severity weight (critical 10, high 5, medium 2, low 1) × exposure '
  + `(1 + log10 of its occurrence count, at most ${EXPOSURE_CAP}) × recency (0.5 to the power of days since it was last seen / `
  + `${RECENCY_HALF_LIFE_DAYS}, at least ${RECENCY_FLOOR}). The contributions are summed into a total, and `
  + `score = 100 × (1 − e^(−total / ${SATURATION})), rounded: 0 means no open risk, 100 the most. securityScore is 100 − score. `
  + 'Resolved and suppressed findings do not count.';

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One finding's factors at `now`. */
export function riskFactor(f: Finding, now: Date): RiskFactor {
  const severityWeight = SEVERITY_WEIGHT[f.severity];
  const exposure = Math.min(EXPOSURE_CAP, 1 + Math.log10(Math.max(1, f.count)));
  const ageDays = Math.max(0, (now.getTime() - Date.parse(f.lastSeen)) / DAY_MS);
  const recency = Math.max(RECENCY_FLOOR, 0.5 ** (ageDays / RECENCY_HALF_LIFE_DAYS));
  return {
    findingId: f.id, title: f.title, category: f.category, severity: f.severity, status: f.status, count: f.count, lastSeen: f.lastSeen,
    severityWeight, exposure: round(exposure), recency: round(recency), contribution: round(severityWeight * exposure * recency),
  };
}

export function riskLevel(score: number): RiskLevel {
  if (score === 0) return 'none';
  if (score < 20) return 'low';
  if (score < 50) return 'medium';
  if (score < 80) return 'high';
  return 'critical';
}

/** The score of `subject` from its findings; findings that are resolved or suppressed are ignored. */
export function scoreRisk(subject: RiskScore['subject'], findings: readonly Finding[], now: Date): RiskScore {
  const counted = findings.filter((f) => f.status === 'open' || f.status === 'acknowledged');
  const factors = counted.map((f) => riskFactor(f, now)).sort((a, b) => b.contribution - a.contribution || a.findingId.localeCompare(b.findingId));
  const total = factors.reduce((s, f) => s + f.contribution, 0);
  const score = Math.round(100 * (1 - Math.exp(-total / SATURATION)));
  return {
    subject, score, securityScore: 100 - score, level: riskLevel(score), total: round(total), computedAt: now.toISOString(),
    factors: factors.slice(0, FACTOR_LIMIT), findingsCounted: counted.length, formula: RISK_FORMULA,
  };
}
