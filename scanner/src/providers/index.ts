import type { Provider } from '@higgs/schema';
import { anthropicParser } from './anthropic/index.ts';
import { openaiParser } from './openai/index.ts';
import type { ProviderParser } from './types.ts';

export type { BlockedBody, ParsedRequest, ParsedResponse, ProviderParser, StreamParser } from './types.ts';
export { UnparsableBody } from './types.ts';

/** Hosts the proxy inspects unless configured otherwise. */
export const DEFAULT_AI_HOSTS: readonly string[] = [
  'api.openai.com', 'api.anthropic.com', '*.openai.azure.com', 'bedrock-runtime.*.amazonaws.com', 'generativelanguage.googleapis.com',
  'api.cohere.com', 'api.cohere.ai', 'api.mistral.ai', 'api.together.xyz',
];

const PROVIDER_BY_HOST: ReadonlyArray<readonly [string, Provider]> = [
  ['api.openai.com', 'openai'], ['*.openai.azure.com', 'azure_openai'], ['api.anthropic.com', 'anthropic'],
  ['bedrock-runtime.*.amazonaws.com', 'bedrock'], ['generativelanguage.googleapis.com', 'gemini'], ['api.cohere.com', 'cohere'],
  ['api.cohere.ai', 'cohere'], ['api.mistral.ai', 'mistral'], ['api.together.xyz', 'together'],
];

const PARSERS: readonly ProviderParser[] = [openaiParser, anthropicParser];

/** `*` in a host pattern stands for one or more DNS labels' worth of characters, never a dot-free suffix trick. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (!p.includes('*')) return p === h;
  const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[a-z0-9.-]+')}$`);
  return re.test(h);
}

/** The provider a host belongs to; an unknown host speaking a known wire format is `openai_compatible`, else `unknown`. */
export function providerForHost(host: string): Provider | null {
  return PROVIDER_BY_HOST.find(([pattern]) => hostMatches(pattern, host))?.[1] ?? null;
}

/** The parser and endpoint for a request, by its path (OpenAI-compatible APIs share the OpenAI wire format). */
export function parserFor(method: string, path: string): { parser: ProviderParser; endpoint: string } | null {
  for (const parser of PARSERS) {
    const endpoint = parser.endpointFor(method, path);
    if (endpoint) return { parser, endpoint };
  }
  return null;
}
