import type { Principal, Role } from '@higgs/schema';

type HumanRole = 'viewer' | 'compliance' | 'platform' | 'security' | 'admin';

/**
 * Which roles each human role satisfies. A partial order, not a ladder:
 * compliance and platform are peers (neither satisfies the other); security
 * sits above both and admin above everything.
 */
const SATISFIES: Readonly<Record<HumanRole, readonly HumanRole[]>> = {
  viewer: ['viewer'],
  compliance: ['compliance', 'viewer'],
  platform: ['platform', 'viewer'],
  security: ['security', 'compliance', 'platform', 'viewer'],
  admin: ['admin', 'security', 'compliance', 'platform', 'viewer'],
};

function isHumanRole(role: Role): role is HumanRole {
  return Object.hasOwn(SATISFIES, role);
}

/**
 * Whether a principal holding `role` may act where `least` is required.
 * Machine roles ('agent', 'scanner') satisfy nothing: what they may call is
 * decided by `principalKind`, not by rank.
 *
 * @example roleAllows('security', 'compliance') // true
 * @example roleAllows('compliance', 'platform') // false — peers
 */
export function roleAllows(role: Role, least: Role): boolean {
  if (!isHumanRole(role) || !isHumanRole(least)) return false;
  return SATISFIES[role].includes(least);
}

/**
 * The kind of actor a principal is, taking the more restrictive of its `kind`
 * and its `role` so an inconsistent principal never gains rights.
 */
export function principalKind(principal: Principal): 'human' | 'agent' | 'scanner' {
  if (principal.kind === 'scanner' || principal.role === 'scanner') return 'scanner';
  if (principal.kind === 'agent' || principal.role === 'agent') return 'agent';
  return 'human';
}
