import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateCa } from './ca.ts';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'higgs-ca-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadOrCreateCa', () => {
  it('creates a CA once, with a 0600 key, and loads the same CA on the next start', async () => {
    const first = await loadOrCreateCa(dir, 'Higgs scanner node-1');
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const ca = new X509Certificate(first.certPem);
    expect(ca.ca).toBe(true);
    const second = await loadOrCreateCa(dir, 'ignored');
    expect(second.certPem).toBe(first.certPem);
    await expect(second.contextFor('api.openai.com')).resolves.toBeDefined();
  });

  it('keeps at most its bound of leaves, the least recently used leaving first: a client\'s SNI cannot grow it', async () => {
    const ca = await loadOrCreateCa(dir, 'Higgs scanner node-1', { maxLeaves: 3 });
    const a = await ca.contextFor('a.example');
    const b = await ca.contextFor('B.example');
    await ca.contextFor('c.example');
    expect(await ca.contextFor('A.EXAMPLE')).toBe(a); // a hit, case-insensitive: a is now the most recent
    await ca.contextFor('d.example'); // over the bound: b, the least recently used, leaves
    expect(await ca.contextFor('a.example')).toBe(a);
    const b2 = await ca.contextFor('b.example');
    expect(b2).not.toBe(b); // issued again
  });
});
