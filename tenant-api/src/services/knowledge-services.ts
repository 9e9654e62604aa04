import type { KnowledgeServices } from '@higgs/tools';
import { createKnowledgeBase, type KnowledgeBase } from '../knowledge/knowledge-base.ts';
import type { Embedder } from '../knowledge/embedder.ts';
import type { ServiceKit } from './service-kit.ts';

export interface KnowledgeServiceOptions {
  /** default: the local hashed n-gram embedder (no download, no network) */
  embedder?: Embedder;
}

/** The tenant's knowledge services: search over the team's knowledge base, per tenant. */
export function createKnowledgeServices(kit: ServiceKit, options: KnowledgeServiceOptions = {}): KnowledgeServices {
  const kb: KnowledgeBase = createKnowledgeBase({ db: kit.db, ...(options.embedder ? { embedder: options.embedder } : {}) });
  return {
    searchKnowledge(ctx, input) {
      return kb.search(kit.tenantOf(ctx), input);
    },
  };
}
