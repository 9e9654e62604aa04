/**
 * List prices of the hosted LLM APIs, USD per million tokens, as published by
 * each provider on its pricing page on the date below (standard tier, no batch
 * or regional discount, prompts under any long-context threshold). A tenant
 * overrides or extends them with HIGGS_COST_FILE (see README, "Cost").
 *
 * `cachedIncludedInInput`: whether the provider's input count already contains
 * the cache-read tokens (OpenAI `prompt_tokens_details.cached_tokens`, Gemini
 * `cachedContentTokenCount`) or reports them beside it (Anthropic
 * `cache_read_input_tokens`, Bedrock Converse `cacheReadInputTokens`).
 *
 * Self-hosted OpenAI-compatible servers and unknown providers have no token
 * price: their calls are reported as unpriced, never as free.
 */
export const PRICE_TABLE_AS_OF = '2025-06-01';
export const PRICE_TABLE_SOURCE =
  'openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/gemini-api/docs/pricing, mistral.ai/pricing, '
  + 'cohere.com/pricing, together.ai/pricing, aws.amazon.com/bedrock/pricing (on-demand, us-east-1)';

export interface ModelPrice {
  /** USD per 1M input tokens */
  input: number;
  /** USD per 1M output tokens */
  output: number;
  /** USD per 1M cache-read input tokens; absent: billed as input */
  cached?: number;
}

export interface ProviderPrices {
  cachedIncludedInInput: boolean;
  /** model name or name prefix → price; the longest matching prefix wins (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`) */
  models: Record<string, ModelPrice>;
}

const OPENAI: ProviderPrices = {
  cachedIncludedInInput: true,
  models: {
    'gpt-4o': { input: 2.5, output: 10, cached: 1.25 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cached: 0.075 },
    'gpt-4.1': { input: 2, output: 8, cached: 0.5 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6, cached: 0.1 },
    'gpt-4.1-nano': { input: 0.1, output: 0.4, cached: 0.025 },
    'gpt-4-turbo': { input: 10, output: 30 },
    'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
    'o1': { input: 15, output: 60, cached: 7.5 },
    'o3': { input: 2, output: 8, cached: 0.5 },
    'o1-mini': { input: 1.1, output: 4.4, cached: 0.55 },
    'o3-mini': { input: 1.1, output: 4.4, cached: 0.55 },
    'o4-mini': { input: 1.1, output: 4.4, cached: 0.275 },
    'text-embedding-3-small': { input: 0.02, output: 0 },
    'text-embedding-3-large': { input: 0.13, output: 0 },
    'text-embedding-ada-002': { input: 0.1, output: 0 },
  },
};

const ANTHROPIC: ProviderPrices = {
  cachedIncludedInInput: false,
  models: {
    'claude-opus-4': { input: 15, output: 75, cached: 1.5 },
    'claude-sonnet-4': { input: 3, output: 15, cached: 0.3 },
    'claude-3-7-sonnet': { input: 3, output: 15, cached: 0.3 },
    'claude-3-5-sonnet': { input: 3, output: 15, cached: 0.3 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cached: 0.08 },
    'claude-3-opus': { input: 15, output: 75, cached: 1.5 },
    'claude-3-haiku': { input: 0.25, output: 1.25, cached: 0.03 },
  },
};

const GEMINI: ProviderPrices = {
  cachedIncludedInInput: true,
  models: {
    'gemini-2.5-pro': { input: 1.25, output: 10, cached: 0.31 },
    'gemini-2.5-flash': { input: 0.3, output: 2.5, cached: 0.075 },
    'gemini-2.0-flash': { input: 0.1, output: 0.4, cached: 0.025 },
    'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
    'gemini-1.5-pro': { input: 1.25, output: 5, cached: 0.3125 },
    'gemini-1.5-flash': { input: 0.075, output: 0.3, cached: 0.01875 },
  },
};

const MISTRAL: ProviderPrices = {
  cachedIncludedInInput: true,
  models: {
    'mistral-large': { input: 2, output: 6 },
    'mistral-medium': { input: 0.4, output: 2 },
    'mistral-small': { input: 0.1, output: 0.3 },
    'codestral': { input: 0.3, output: 0.9 },
    'open-mistral-nemo': { input: 0.15, output: 0.15 },
    'mistral-embed': { input: 0.1, output: 0 },
  },
};

const COHERE: ProviderPrices = {
  cachedIncludedInInput: true,
  models: {
    'command-a': { input: 2.5, output: 10 },
    'command-r-plus': { input: 2.5, output: 10 },
    'command-r': { input: 0.15, output: 0.6 },
    'command-r7b': { input: 0.0375, output: 0.15 },
    'embed-english-v3.0': { input: 0.1, output: 0 },
    'embed-multilingual-v3.0': { input: 0.1, output: 0 },
  },
};

const TOGETHER: ProviderPrices = {
  cachedIncludedInInput: true,
  models: {
    'meta-llama/Llama-3.3-70B-Instruct-Turbo': { input: 0.88, output: 0.88 },
    'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo': { input: 0.18, output: 0.18 },
    'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo': { input: 3.5, output: 3.5 },
    'mistralai/Mixtral-8x7B-Instruct-v0.1': { input: 0.6, output: 0.6 },
    'Qwen/Qwen2.5-72B-Instruct-Turbo': { input: 1.2, output: 1.2 },
    'deepseek-ai/DeepSeek-V3': { input: 1.25, output: 1.25 },
  },
};

const BEDROCK: ProviderPrices = {
  cachedIncludedInInput: false,
  models: {
    // Bedrock model ids, optionally behind a cross-region inference prefix (us./eu./apac.), matched after it
    'anthropic.claude-opus-4': { input: 15, output: 75, cached: 1.5 },
    'anthropic.claude-sonnet-4': { input: 3, output: 15, cached: 0.3 },
    'anthropic.claude-3-7-sonnet': { input: 3, output: 15, cached: 0.3 },
    'anthropic.claude-3-5-sonnet': { input: 3, output: 15, cached: 0.3 },
    'anthropic.claude-3-5-haiku': { input: 0.8, output: 4, cached: 0.08 },
    'anthropic.claude-3-haiku': { input: 0.25, output: 1.25 },
    'amazon.nova-pro': { input: 0.8, output: 3.2, cached: 0.2 },
    'amazon.nova-lite': { input: 0.06, output: 0.24, cached: 0.015 },
    'amazon.nova-micro': { input: 0.035, output: 0.14, cached: 0.00875 },
    'meta.llama3-1-70b-instruct': { input: 0.72, output: 0.72 },
    'meta.llama3-1-8b-instruct': { input: 0.22, output: 0.22 },
    'mistral.mistral-large-2407': { input: 2, output: 6 },
    'cohere.command-r-plus': { input: 3, output: 15 },
    'amazon.titan-embed-text-v2': { input: 0.02, output: 0 },
  },
};

/**
 * provider (as `LlmCall.provider`) → prices. Azure OpenAI bills the OpenAI list
 * prices for global standard deployments; a deployment name that is not a model
 * name stays unpriced until the tenant maps it in HIGGS_COST_FILE.
 */
export const PRICE_TABLE: Readonly<Record<string, ProviderPrices>> = {
  openai: OPENAI,
  azure_openai: OPENAI,
  anthropic: ANTHROPIC,
  gemini: GEMINI,
  mistral: MISTRAL,
  cohere: COHERE,
  together: TOGETHER,
  bedrock: BEDROCK,
};
