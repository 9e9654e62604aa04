/**
 * The bundle stays browser-only (STYLE.md: no Node-only module in the UI) and
 * features stay independent (bulletproof-react): checked on the source, so a
 * stray `node:` import fails here rather than as a broken page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const ALLOWED_PACKAGES = new Set(Object.keys(pkg.dependencies));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  );
}

const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const files = sourceFiles(SRC);

describe('ui source imports', () => {
  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('imports only relative files and the packages ui depends on (never node: or another workspace)', () => {
    const bad = files.flatMap((file) =>
      importsOf(file)
        .filter((s) => !s.startsWith('.') && !ALLOWED_PACKAGES.has(packageName(s)))
        .map((s) => `${relative(SRC, file)} → ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps features from importing each other', () => {
    const bad = files.flatMap((file) => {
      const feature = /features[\\/]([^\\/]+)/.exec(relative(SRC, file))?.[1];
      if (feature === undefined) return [];
      return importsOf(file)
        .filter((s) => s.startsWith('.'))
        .map((s) => relative(SRC, join(file, '..', s)).split(sep))
        .filter((parts) => parts[0] === 'features' && parts[1] !== feature)
        .map((parts) => `${relative(SRC, file)} → ${parts.join('/')}`);
    });
    expect(bad).toEqual([]);
  });
});
