import { describe, expect, it } from 'vitest';
import { parserFor } from '../index.ts';
import { azureApiVersion, azureDeployment } from './index.ts';

const HOST = 'higgs-demo.openai.azure.com';

describe('azure openai parsers', () => {
  it('route deployment paths to the chat, embeddings and responses parsers under azure_openai', () => {
    expect(parserFor('POST', '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', HOST)).toMatchObject({ endpoint: 'chat', parser: { provider: 'azure_openai' } });
    expect(parserFor('POST', '/openai/deployments/emb/embeddings?api-version=2024-10-21', HOST)).toMatchObject({ endpoint: 'embeddings', parser: { provider: 'azure_openai' } });
    expect(parserFor('POST', '/openai/v1/responses', HOST)).toMatchObject({ endpoint: 'responses', parser: { provider: 'azure_openai' } });
    expect(parserFor('GET', '/openai/deployments?api-version=2022-12-01', HOST)).toBeNull();
  });

  it('records the deployment as the model and keeps api-version readable from the path', () => {
    const path = '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21';
    const route = parserFor('POST', path, HOST)!;
    const p = route.parser.parseRequest(route.endpoint, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, path);
    expect(p).toMatchObject({ provider: 'azure_openai', model: 'gpt4o-prod', messages: [{ role: 'user', content: 'hi' }] });
    expect(azureDeployment(path)).toBe('gpt4o-prod');
    expect(azureApiVersion(path)).toBe('2024-10-21');
    // the v1 paths name no deployment: the body's model is the deployment name
    const v1 = parserFor('POST', '/openai/v1/responses', HOST)!;
    expect(v1.parser.parseRequest(v1.endpoint, { model: 'my-dep', input: 'hi' }, '/openai/v1/responses').model).toBe('my-dep');
  });

  it('answers a block in the OpenAI error envelope', () => {
    const route = parserFor('POST', '/openai/deployments/d/chat/completions?api-version=2024-10-21', HOST)!;
    expect(route.parser.blockedResponse({ message: 'no', ruleId: 'r1', decisionId: 'dec_1' })).toMatchObject({ error: { message: 'no', code: 'higgs_blocked' } });
  });
});
