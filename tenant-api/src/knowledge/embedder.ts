/**
 * Text → vector, behind one interface: a local feature-hashing embedder that
 * needs no model download (the default), and a provider's OpenAI-compatible
 * `/embeddings` endpoint when one is configured.
 */
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { z } from 'zod';
import { TenantError } from '../errors.ts';

/** The knowledge store's vector size (migration 0006: `vector(256)`). */
export const EMBEDDING_DIMENSIONS = 256;

export interface Embedder {
  /** names the vector space, e.g. `hashed-ngram-256`; stored with each chunk so spaces never mix */
  readonly id: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

/**
 * Feature hashing over word unigrams, word bigrams and character trigrams,
 * signed (so collisions cancel rather than pile up), log-scaled counts,
 * L2-normalised. This is lexical similarity, not a semantic model: it finds
 * passages that share words and word pieces with the query ("redact" finds
 * "redaction"), which suits a short knowledge base written in the product's
 * own vocabulary. No download, deterministic, ~10 µs per passage.
 */
export function createHashedEmbedder(dimensions: number = EMBEDDING_DIMENSIONS): Embedder {
  return {
    id: `hashed-ngram-${dimensions}`,
    dimensions,
    async embed(texts) {
      return texts.map((t) => hashedVector(t, dimensions));
    },
  };
}

const STOP_WORDS = new Set(
  'a an and are as at be by can do does for from how i in is it its me my of on or our should that the this to was we what when where which who why will with you your'.split(' '),
);

/** Lower-cased words of two or more letters/digits, stop words out. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []).filter((w) => !STOP_WORDS.has(w));
}

function hashedVector(text: string, dimensions: number): number[] {
  const counts = new Map<number, number>();
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    // the top bit signs the feature; the rest picks its slot
    const slot = (h & 0x7fffffff) % dimensions;
    const sign = h & 0x80000000 ? -1 : 1;
    counts.set(slot, (counts.get(slot) ?? 0) + sign * weight);
  };
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    add(`w:${w}`, 1);
    if (i + 1 < ws.length) add(`b:${w} ${ws[i + 1]}`, 0.5);
    const padded = `^${w}$`;
    // trigrams carry morphology ("redact" ~ "redaction"); a third of a word's weight
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 1 / 3);
  }
  const v = new Array<number>(dimensions).fill(0);
  for (const [slot, c] of counts) v[slot] = Math.sign(c) * Math.log1p(Math.abs(c));
  return unit(v);
}

// 32-bit FNV-1a over UTF-16 code units: stable across runs and processes
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function unit(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}

/** Cosine similarity of two vectors of the same length. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface ProviderEmbedderOptions {
  /** base URL of an OpenAI-compatible API, e.g. `https://api.openai.com/v1`; `/embeddings` is appended */
  baseUrl: string;
  model: string;
  apiKey: string;
  /** asked of the provider (`dimensions`), and checked on every vector; default 256 to fit the store */
  dimensions?: number;
  /** extra trusted CA (PEM) for a private endpoint or a test server */
  caCertPem?: string;
  timeoutMs?: number;
  /** texts per request; providers cap the batch (OpenAI: 2048) */
  batchSize?: number;
}

const EmbeddingsResponse = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()) })),
});

/**
 * A provider's OpenAI-compatible embeddings endpoint (`POST {baseUrl}/embeddings`
 * with `model`, `input` and `dimensions`). Vectors are re-normalised, and a
 * response with the wrong count or size is an `EMBEDDINGS_FAILED` error, never
 * stored.
 */
export function createProviderEmbedder(opts: ProviderEmbedderOptions): Embedder {
  const dimensions = opts.dimensions ?? EMBEDDING_DIMENSIONS;
  const batchSize = opts.batchSize ?? 256;
  const url = new URL(`${opts.baseUrl.replace(/\/+$/, '')}/embeddings`);
  return {
    id: `provider:${opts.model}-${dimensions}`,
    dimensions,
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const batch = texts.slice(i, i + batchSize);
        const body = JSON.stringify({ model: opts.model, input: batch, dimensions, encoding_format: 'float' });
        const raw = await postJson(url, body, opts);
        const parsed = EmbeddingsResponse.safeParse(raw);
        if (!parsed.success) throw new TenantError('EMBEDDINGS_FAILED', 'the embeddings response is not the OpenAI shape', { cause: parsed.error });
        const byIndex = [...parsed.data.data].sort((a, b) => a.index - b.index);
        if (byIndex.length !== batch.length || byIndex.some((d, k) => d.index !== k || d.embedding.length !== dimensions)) {
          throw new TenantError('EMBEDDINGS_FAILED', `expected ${batch.length} vectors of ${dimensions} dimensions`);
        }
        out.push(...byIndex.map((d) => unit(d.embedding)));
      }
      return out;
    },
  };
}

function postJson(url: URL, body: string, opts: ProviderEmbedderOptions): Promise<unknown> {
  const send = url.protocol === 'https:' ? request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.apiKey}`, 'content-length': Buffer.byteLength(body) },
      ...(opts.caCertPem ? { ca: opts.caCertPem } : {}),
      timeout: opts.timeoutMs ?? 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (cause) => reject(new TenantError('EMBEDDINGS_FAILED', 'the embeddings response broke off', { cause })));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) {
          // the body may echo the input; keep only the status in the message
          reject(new TenantError('EMBEDDINGS_FAILED', `the embeddings endpoint answered ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (cause) {
          reject(new TenantError('EMBEDDINGS_FAILED', 'the embeddings response is not JSON', { cause }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (cause) => reject(new TenantError('EMBEDDINGS_FAILED', `the embeddings endpoint ${url.host} is unreachable`, { cause })));
    req.end(body);
  });
}
