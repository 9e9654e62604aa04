/** The knowledge operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
import type { ToolArgs, ToolOutput } from '@higgs/schema';
import type { ServiceContext } from '../services.ts';

export interface KnowledgeServices {
  /** The knowledge-base passages nearest to the query (embedding similarity), best first. */
  searchKnowledge(ctx: ServiceContext, input: ToolArgs<'search_knowledge'>): Promise<ToolOutput<'search_knowledge'>>;
}
