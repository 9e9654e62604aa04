/**
 * LLM cost: the checked-in price table (price-table.ts) merged with the
 * tenant's overrides, and the arithmetic that turns token counts into USD.
 * A call whose provider/model has no price is *unpriced*: counted and named,
 * never costed as zero.
 */
import { z } from 'zod';
import { PRICE_TABLE, PRICE_TABLE_AS_OF, PRICE_TABLE_SOURCE, type ModelPrice, type ProviderPrices } from './price-table.ts';

const Usd = z.number().nonnegative().max(10_000);
const ModelPriceSchema = z.object({ input: Usd, output: Usd, cached: Usd.optional() });

/**
 * The tenant's cost settings (HIGGS_COST_FILE): prices that replace or extend
 * the table per provider and model, and which team owns an app or a namespace
 * (an app mapping wins over its namespace's).
 */
export const CostSettings = z.object({
  prices: z.record(z.string().min(1), z.object({
    cachedIncludedInInput: z.boolean().optional(),
    models: z.record(z.string().min(1), ModelPriceSchema),
  })).default({}),
  teams: z.object({
    apps: z.record(z.string().min(1), z.string().min(1)).default({}),
    namespaces: z.record(z.string().min(1), z.string().min(1)).default({}),
  }).default({ apps: {}, namespaces: {} }),
});
export type CostSettings = z.infer<typeof CostSettings>;

export interface TokenTotals {
  calls: number;
  /** calls that reported no usage: they count as calls, but carry no tokens to price */
  callsWithoutUsage: number;
  input: number;
  output: number;
  cached: number;
}

export interface Pricer {
  /** the price of a provider's model, or null when it is not in the table */
  priceOf(provider: string, model: string | null): (ModelPrice & { cachedIncludedInInput: boolean }) | null;
  /** USD for the tokens, or null when unpriced */
  costOf(provider: string, model: string | null, t: TokenTotals): number | null;
  /** the team of a workload: app mapping, then namespace mapping, else null */
  teamOf(namespace: string | null, app: string | null): string | null;
  readonly asOf: string;
  readonly source: string;
  /** how many model prices the tenant overrode or added */
  readonly overridden: number;
}

// Bedrock cross-region inference profiles prefix the model id: us.anthropic.claude-…
const BEDROCK_REGION_PREFIX = /^(?:us|eu|apac|us-gov|global)\./;
// a table key matches a longer model name only at a boundary: gpt-4o matches gpt-4o-2024-08-06, not gpt-4o1
const BOUNDARY = /[-@:._/]/;

/** Builds the pricer for a tenant from the checked-in table and its overrides. */
export function createPricer(settings: CostSettings = CostSettings.parse({})): Pricer {
  const table = new Map<string, { cachedIncludedInInput: boolean; models: Map<string, ModelPrice> }>();
  for (const [provider, p] of Object.entries(PRICE_TABLE) as Array<[string, ProviderPrices]>) {
    table.set(provider, { cachedIncludedInInput: p.cachedIncludedInInput, models: lowerKeys(p.models) });
  }
  let overridden = 0;
  for (const [provider, p] of Object.entries(settings.prices)) {
    const base = table.get(provider);
    const models = new Map(base?.models ?? []);
    for (const [name, price] of lowerKeys(p.models)) {
      models.set(name, price);
      overridden += 1;
    }
    table.set(provider, { cachedIncludedInInput: p.cachedIncludedInInput ?? base?.cachedIncludedInInput ?? true, models });
  }

  function priceOf(provider: string, model: string | null) {
    const p = table.get(provider);
    if (!p || model === null) return null;
    let name = model.trim().toLowerCase();
    if (provider === 'bedrock') name = name.replace(BEDROCK_REGION_PREFIX, '');
    const exact = p.models.get(name);
    if (exact) return { ...exact, cachedIncludedInInput: p.cachedIncludedInInput };
    let best: ModelPrice | null = null;
    let bestLength = 0;
    for (const [key, price] of p.models) {
      if (key.length > bestLength && name.startsWith(key) && BOUNDARY.test(name[key.length]!)) [best, bestLength] = [price, key.length];
    }
    return best ? { ...best, cachedIncludedInInput: p.cachedIncludedInInput } : null;
  }

  return {
    priceOf,
    costOf(provider, model, t) {
      const price = priceOf(provider, model);
      if (!price) return null;
      const cachedPrice = price.cached ?? price.input;
      // a provider that counts cache reads inside the input must not bill them twice
      const freshInput = price.cachedIncludedInInput ? Math.max(0, t.input - t.cached) : t.input;
      return (freshInput * price.input + t.cached * cachedPrice + t.output * price.output) / 1_000_000;
    },
    teamOf(namespace, app) {
      return (app !== null ? settings.teams.apps[app] : undefined) ?? (namespace !== null ? settings.teams.namespaces[namespace] : undefined) ?? null;
    },
    asOf: PRICE_TABLE_AS_OF,
    source: PRICE_TABLE_SOURCE,
    overridden,
  };
}

function lowerKeys(models: Record<string, ModelPrice>): Map<string, ModelPrice> {
  return new Map(Object.entries(models).map(([k, v]) => [k.toLowerCase(), v]));
}
