import type { KernelServices } from '@higgs/tools';
import type { ServiceKit } from './service-kit.ts';

/** The tenant's kernel services. */
export function createKernelServices(_kit: ServiceKit): KernelServices {
  return {};
}
