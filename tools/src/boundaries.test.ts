import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('package boundaries', () => {
  it('imports only @higgs/schema among the Higgs packages (ARCHITECTURE.md: tools ← agent, tenant-api)', () => {
    const offenders = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bin'))].flatMap((file) => {
      const specifiers = [...readFileSync(file, 'utf8').matchAll(/from '(@higgs\/[^']+)'/g)].map((m) => m[1]);
      return specifiers.filter((s) => s !== '@higgs/schema').map((s) => `${file}: ${s}`);
    });
    expect(offenders).toEqual([]);
  });

  it('reads process.env only in config.ts', () => {
    const offenders = sources(join(ROOT, 'src'))
      .filter((file) => !file.endsWith('config.ts') && !file.endsWith('.test.ts'))
      .filter((file) => readFileSync(file, 'utf8').includes('process.env'));
    expect(offenders).toEqual([]);
  });
});
