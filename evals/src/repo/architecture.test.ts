import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE.md: dependencies point one way. The lint rule checks imports;
// this checks the package manifests, so a dependency cannot sneak in unused.
const ALLOWED: Record<string, string[]> = {
  schema: [], bpf: ['schema'], scanner: ['schema', 'bpf'], tools: ['schema'], agent: ['schema', 'tools'],
  'tenant-api': ['schema', 'tools', 'agent'], ui: ['schema'], demo: ['schema', 'scanner', 'tenant-api'],
  evals: ['schema', 'bpf', 'scanner', 'tools', 'agent', 'tenant-api', 'demo', 'ui'], charts: [],
};
const root = join(import.meta.dirname, '..', '..', '..');

describe('workspace dependency direction', () => {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };

  it('lists every workspace the architecture names', () => {
    expect([...rootPkg.workspaces].sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  for (const ws of Object.keys(ALLOWED)) {
    it(`${ws} depends only on the packages it may import`, () => {
      const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]
        .filter((d) => d.startsWith('@higgs/'))
        .map((d) => d.slice('@higgs/'.length));
      for (const d of deps) expect(ALLOWED[ws], `${ws} → ${d}`).toContain(d);
    });
  }

  it('gives every workspace a README', () => {
    const missing = Object.keys(ALLOWED).filter((ws) => !existsSync(join(root, ws, 'README.md')));
    expect(missing).toEqual([]);
  });

  it('exports no package root with export *', () => {
    const offenders: string[] = [];
    for (const ws of Object.keys(ALLOWED)) {
      const idx = join(root, ws, 'src', 'index.ts');
      if (existsSync(idx) && /^\s*export \*/m.test(readFileSync(idx, 'utf8'))) offenders.push(ws);
    }
    expect(offenders).toEqual([]);
    expect(readdirSync(root)).toContain('schema');
  });
});
