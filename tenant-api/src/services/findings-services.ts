import type { FindingsServices } from '@higgs/tools';
import type { ServiceKit } from './service-kit.ts';

/** The tenant's findings services. */
export function createFindingsServices(_kit: ServiceKit): FindingsServices {
  return {};
}
