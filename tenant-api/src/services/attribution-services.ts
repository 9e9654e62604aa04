import type { AttributionServices } from '@higgs/tools';
import type { ServiceKit } from './service-kit.ts';

/** The tenant's attribution services. */
export function createAttributionServices(_kit: ServiceKit): AttributionServices {
  return {};
}
