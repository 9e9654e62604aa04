import type { Provider } from '@higgs/schema';
import { anthropicParser } from './anthropic/index.ts';
import { azureParsers } from './azure/index.ts';
import { bedrockParser } from './bedrock/index.ts';
import { cohereParser } from './cohere/index.ts';
import { geminiParser } from './gemini/index.ts';
import { mistralParser } from './mistral/index.ts';
import { openaiEmbeddingsParser } from './openai/embeddings.ts';
import { openaiParser } from './openai/index.ts';
import { openaiResponsesParser } from './openai/responses.ts';
import { togetherParser } from './together/index.ts';
import type { ProviderParser } from './types.ts';

export type { BlockedBody, ParsedRequest, ParsedResponse, ProviderParser, StreamParser } from './types.ts';
export { UnparsableBody } from './types.ts';

/** Hosts the proxy inspects unless configured otherwise. */
export const DEFAULT_AI_HOSTS: readonly string[] = [
  'api.openai.com', 'api.anthropic.com', '*.openai.azure.com', 'bedrock-runtime.*.amazonaws.com', 'generativelanguage.googleapis.com',
  'api.cohere.com', 'api.cohere.ai', 'api.mistral.ai', 'api.*.mistral.ai', 'api.together.xyz', 'api.together.ai',
];

const PROVIDER_BY_HOST: ReadonlyArray<readonly [string, Provider]> = [
  ['api.openai.com', 'openai'], ['*.openai.azure.com', 'azure_openai'], ['api.anthropic.com', 'anthropic'],
  ['bedrock-runtime.*.amazonaws.com', 'bedrock'], ['generativelanguage.googleapis.com', 'gemini'], ['api.cohere.com', 'cohere'],
  ['api.cohere.ai', 'cohere'], ['api.mistral.ai', 'mistral'], ['api.*.mistral.ai', 'mistral'], ['api.together.xyz', 'together'],
  // together-ai >= 0.10 calls api.together.ai; api.together.xyz is the older name, still served
  ['api.together.ai', 'together'],
];

// by path, the OpenAI shapes come first: an unknown host speaking them is an OpenAI-compatible server
const PARSERS: readonly ProviderParser[] = [
  openaiParser, openaiResponsesParser, openaiEmbeddingsParser, anthropicParser, bedrockParser, geminiParser,
  ...azureParsers, mistralParser, togetherParser, cohereParser,
];

// compiled once per pattern: the proxy asks for every request, and a RegExp per call showed in profiles
const HOST_PATTERNS = new Map<string, RegExp | string>();

/** `*` in a host pattern stands for one or more DNS labels' worth of characters, never a dot-free suffix trick. */
export function hostMatches(pattern: string, host: string): boolean {
  let compiled = HOST_PATTERNS.get(pattern);
  if (compiled === undefined) {
    const p = pattern.toLowerCase();
    compiled = p.includes('*') ? new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[a-z0-9.-]+')}$`) : p;
    // patterns come from configuration (a few dozen at most): the map stays small
    HOST_PATTERNS.set(pattern, compiled);
  }
  const h = host.toLowerCase();
  return typeof compiled === 'string' ? compiled === h : compiled.test(h);
}

/** The provider a host belongs to; an unknown host speaking a known wire format is `openai_compatible`, else `unknown`. */
export function providerForHost(host: string): Provider | null {
  return PROVIDER_BY_HOST.find(([pattern]) => hostMatches(pattern, host))?.[1] ?? null;
}

// vLLM, Ollama and TGI serve the OpenAI API under /v1 (optionally behind a path prefix)
const OPENAI_COMPATIBLE_PATH = /^(?:\/[^?]*)?\/v1\/(?:chat\/completions|responses|embeddings)(?:\?|$)/;

/**
 * True when a request has the path shape of an OpenAI-compatible API (`…/v1/`
 * chat completions, Responses, embeddings): the proxy inspects such plain-HTTP
 * requests on any host, since vLLM, Ollama and TGI run under any name.
 */
export function isOpenAiCompatibleRequest(method: string, path: string): boolean {
  return method === 'POST' && OPENAI_COMPATIBLE_PATH.test(path);
}

/**
 * The parser and endpoint for a request. A known provider host is parsed by
 * that provider's own parsers first (Mistral and Together share OpenAI's paths
 * but not its error shape); otherwise, and as a fallback, by path shape, so an
 * OpenAI-compatible server (vLLM, Ollama, TGI) is understood on any host.
 */
export function parserFor(method: string, path: string, host?: string): { parser: ProviderParser; endpoint: string } | null {
  const provider = host === undefined ? null : providerForHost(host);
  for (const parser of provider === null ? PARSERS : candidatesFor(provider)) {
    const endpoint = parser.endpointFor(method, path);
    if (endpoint) return { parser, endpoint };
  }
  return null;
}

const CANDIDATES = new Map<Provider, readonly ProviderParser[]>();
/** the provider's own parsers first, then the others; built once per provider */
function candidatesFor(provider: Provider): readonly ProviderParser[] {
  let c = CANDIDATES.get(provider);
  if (!c) {
    c = [...PARSERS.filter((p) => p.provider === provider), ...PARSERS.filter((p) => p.provider !== provider)];
    CANDIDATES.set(provider, c);
  }
  return c;
}
