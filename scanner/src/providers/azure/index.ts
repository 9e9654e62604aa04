import { openaiEmbeddingsParser } from '../openai/embeddings.ts';
import { openaiParser } from '../openai/index.ts';
import { openaiResponsesParser } from '../openai/responses.ts';
import { openaiFamily } from '../openai-family.ts';
import type { ParsedRequest, ProviderParser } from '../types.ts';

// https://learn.microsoft.com/azure/ai-services/openai/reference: /openai/deployments/{deployment-id}/{operation}?api-version=…
const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/?]+)\/(chat\/completions|embeddings)(?:\?|$)/;
// the v1 API (api-version optional): /openai/v1/responses, /openai/v1/chat/completions, …
const V1_PATH = /^\/openai\/(?:v1\/)?(chat\/completions|embeddings|responses)(?:\?|$)/;
const ENDPOINTS: Record<string, string> = { 'chat/completions': 'chat', embeddings: 'embeddings', responses: 'responses' };

/** The deployment named in an Azure OpenAI path, or null on the v1 paths, where the body's `model` names it. */
export function azureDeployment(path: string): string | null {
  const m = DEPLOYMENT_PATH.exec(path);
  return m ? decodeURIComponent(m[1]!) : null;
}

/** The `api-version` query parameter of an Azure OpenAI path (recorded with the call's path). */
export function azureApiVersion(path: string): string | null {
  const q = path.indexOf('?');
  return q === -1 ? null : new URLSearchParams(path.slice(q + 1)).get('api-version');
}

function endpointFor(method: string, path: string): string | null {
  if (method !== 'POST') return null;
  const m = DEPLOYMENT_PATH.exec(path) ?? V1_PATH.exec(path);
  return m ? ENDPOINTS[m[m.length - 1]!] ?? null : null;
}

// On a deployment path the deployment is what runs: the body's `model` is ignored by Azure, or absent
const refine = (parsed: ParsedRequest, path: string | undefined): ParsedRequest => {
  const deployment = path === undefined ? null : azureDeployment(path);
  return deployment ? { ...parsed, model: deployment } : parsed;
};

const only = (endpoint: string) => (method: string, path: string): string | null => (endpointFor(method, path) === endpoint ? endpoint : null);

/**
 * Azure OpenAI on `*.openai.azure.com`: chat completions, embeddings and the
 * Responses API in OpenAI's wire format under deployment paths; the error
 * envelope is OpenAI's (`{ error: { code, message } }`), which the
 * `AzureOpenAI` client raises as its usual APIError.
 */
export const azureParsers: readonly ProviderParser[] = [
  openaiFamily(openaiParser, 'azure_openai', { endpointFor: only('chat'), refine }),
  openaiFamily(openaiEmbeddingsParser, 'azure_openai', { endpointFor: only('embeddings'), refine }),
  openaiFamily(openaiResponsesParser, 'azure_openai', { endpointFor: only('responses'), refine }),
];
