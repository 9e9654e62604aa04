import type { KnowledgeServices } from '@higgs/tools';
import type { ServiceKit } from './service-kit.ts';

/** The tenant's knowledge services. */
export function createKnowledgeServices(_kit: ServiceKit): KnowledgeServices {
  return {};
}
