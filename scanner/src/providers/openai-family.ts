import type { Provider } from '@higgs/schema';
import type { ParsedRequest, ProviderParser } from './types.ts';

/**
 * A parser for a provider that speaks one of OpenAI's wire formats (Azure
 * OpenAI, Mistral, Together): the same request, response and stream parsing,
 * recorded under the provider's own name, with what differs overridden (the
 * error body an SDK expects, where the model comes from).
 */
export function openaiFamily(
  base: ProviderParser,
  provider: Provider,
  overrides: Partial<Pick<ProviderParser, 'endpointFor' | 'blockedResponse'>> & {
    /** adjusts the parsed request, e.g. the model taken from an Azure deployment path */
    refine?: (parsed: ParsedRequest, path: string | undefined) => ParsedRequest;
  } = {},
): ProviderParser {
  const { refine, ...rest } = overrides;
  return {
    ...base,
    provider,
    parseRequest(endpoint, body, path) {
      const parsed: ParsedRequest = { ...base.parseRequest(endpoint, body, path), provider };
      return refine ? refine(parsed, path) : parsed;
    },
    ...rest,
  };
}
