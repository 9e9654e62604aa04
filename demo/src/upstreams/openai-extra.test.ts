import { describe, expect, it } from 'vitest';
import { buildEmbeddings, embeddingFor, parseEmbeddingsRequest } from './openai-extra.ts';

describe('mock embeddings', () => {
  it('embeds a text the same way every time, as a unit vector', () => {
    const v = embeddingFor('refund policy', 64);
    expect(v).toHaveLength(64);
    expect(embeddingFor('refund policy', 64)).toEqual(v);
    expect(embeddingFor('shipping', 64)).not.toEqual(v);
    expect(Math.hypot(...v)).toBeCloseTo(1, 6);
  });

  it('encodes base64 vectors as little-endian float32, as the openai SDK decodes them', () => {
    const body = buildEmbeddings('m', ['a'], 'base64', 8);
    const b64 = body.data[0]!.embedding as string;
    const buf = Buffer.from(b64, 'base64');
    const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));
    expect(decoded.map((x) => Number(x.toFixed(5)))).toEqual(embeddingFor('a', 8).map((x) => Number(Math.fround(x).toFixed(5))));
  });

  it('validates input and honours dimensions up to the native size', () => {
    expect(parseEmbeddingsRequest({ model: 'm', input: [] })).toMatchObject({ ok: false, param: 'input' });
    expect(parseEmbeddingsRequest({ model: 'm', input: 'x', dimensions: 256 })).toMatchObject({ ok: true, inputs: ['x'], dimensions: 256, encoding: 'float' });
    expect(parseEmbeddingsRequest({ model: 'm', input: 'x', dimensions: 99_999 })).toMatchObject({ dimensions: 1536 });
  });
});
