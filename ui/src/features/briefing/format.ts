import type { RuleMatch, Severity } from '@higgs/schema';

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago" — relative to `now` (ms since epoch). */
export function formatAgo(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** A rule's match conditions in one line: "piiTypes: email, ssn · namespaces: shop". */
export function describeMatch(match: RuleMatch): string {
  return Object.entries(match)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join(' · ');
}

export const severityTone = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
} as const satisfies Record<Severity, string>;

/** Joins the present parts with a separator: `joinPresent(['shop', null, 'checkout'], '/')` → "shop/checkout". */
export function joinPresent(parts: readonly (string | null | undefined)[], separator: string): string | null {
  const present = parts.filter((p): p is string => typeof p === 'string' && p !== '');
  return present.length === 0 ? null : present.join(separator);
}
