import type { SecurityServices } from '@higgs/tools';
import type { ServiceKit } from './service-kit.ts';

/** The tenant's security services. */
export function createSecurityServices(_kit: ServiceKit): SecurityServices {
  return {};
}
