import { describe, expect, it } from 'vitest';
import { CostSettings, createPricer } from './index.ts';

const tokens = (input: number, output: number, cached = 0) => ({ calls: 1, callsWithoutUsage: 0, input, output, cached });

describe('pricer', () => {
  const pricer = createPricer();

  it('matches a dated model name to its family by the longest prefix at a name boundary', () => {
    expect(pricer.priceOf('openai', 'gpt-4o-mini-2024-07-18')).toMatchObject({ input: 0.15, output: 0.6 });
    expect(pricer.priceOf('openai', 'gpt-4o-2024-08-06')).toMatchObject({ input: 2.5, output: 10 });
    expect(pricer.priceOf('openai', 'GPT-4o')).toMatchObject({ input: 2.5 });
    // a longer name that is not a dated variant is another model: unpriced, not gpt-4o
    expect(pricer.priceOf('openai', 'gpt-4o1')).toBeNull();
    expect(pricer.priceOf('anthropic', 'claude-3-5-haiku-20241022')).toMatchObject({ input: 0.8 });
    expect(pricer.priceOf('bedrock', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0')).toMatchObject({ input: 3, output: 15 });
  });

  it('leaves unknown providers, unknown models and a missing model unpriced', () => {
    expect(pricer.costOf('openai_compatible', 'llama3', tokens(10, 10))).toBeNull();
    expect(pricer.costOf('openai', 'my-finetune', tokens(10, 10))).toBeNull();
    expect(pricer.costOf('openai', null, tokens(10, 10))).toBeNull();
  });

  it('bills cache reads once: inside the input for OpenAI, beside it for Anthropic', () => {
    // gpt-4o: $2.50 in, $1.25 cached, $10 out; 1M prompt tokens of which 400k cached
    expect(pricer.costOf('openai', 'gpt-4o', tokens(1_000_000, 0, 400_000))).toBeCloseTo(0.6 * 2.5 + 0.4 * 1.25, 9);
    // claude-sonnet-4: $3 in, $0.30 cache read, $15 out; input excludes the 400k cache reads
    expect(pricer.costOf('anthropic', 'claude-sonnet-4-20250514', tokens(1_000_000, 100_000, 400_000))).toBeCloseTo(3 + 0.4 * 0.3 + 1.5, 9);
    // no cached price: cache reads are billed as input
    expect(pricer.costOf('openai', 'gpt-4-turbo', tokens(1_000_000, 0, 500_000))).toBeCloseTo(10, 9);
  });

  it('applies the tenant\'s overrides and additions, and maps workloads to teams (app before namespace)', () => {
    const custom = createPricer(CostSettings.parse({
      prices: {
        openai: { models: { 'gpt-4o': { input: 1, output: 1 } } },
        openai_compatible: { cachedIncludedInInput: true, models: { 'llama3': { input: 0.1, output: 0.2 } } },
      },
      teams: { apps: { checkout: 'payments-web' }, namespaces: { payments: 'payments', ml: 'ml-platform' } },
    }));
    expect(custom.costOf('openai', 'gpt-4o', tokens(1_000_000, 1_000_000))).toBe(2);
    expect(custom.costOf('openai', 'gpt-4o-mini', tokens(1_000_000, 0))).toBeCloseTo(0.15, 9);
    expect(custom.costOf('openai_compatible', 'llama3:8b', tokens(1_000_000, 1_000_000))).toBeCloseTo(0.3, 9);
    expect(custom.overridden).toBe(2);
    expect(custom.teamOf('payments', 'checkout')).toBe('payments-web');
    expect(custom.teamOf('payments', 'refunds')).toBe('payments');
    expect(custom.teamOf(null, null)).toBeNull();
  });

  it('refuses a settings file with a negative or absurd price', () => {
    expect(CostSettings.safeParse({ prices: { openai: { models: { x: { input: -1, output: 1 } } } } }).success).toBe(false);
    expect(CostSettings.safeParse({ prices: { openai: { models: { x: { input: 1e9, output: 1 } } } } }).success).toBe(false);
  });
});
