import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Which workspace may import which: ARCHITECTURE.md's one-way dependency
// direction. A package may import only the @higgs packages listed here.
const allowed = {
  schema: [],
  bpf: ['schema'],
  scanner: ['schema', 'bpf'],
  tools: ['schema'],
  agent: ['schema', 'tools'],
  'tenant-api': ['schema', 'tools', 'agent'],
  ui: ['schema'],
  demo: ['schema', 'scanner', 'tenant-api'],
  evals: ['schema', 'scanner', 'tools', 'agent', 'tenant-api', 'demo', 'ui'],
  charts: [],
};
const all = Object.keys(allowed);

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.higgs/**', 'bpf/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'List public names explicitly (no export *).' }],
    },
  },
  ...Object.entries(allowed).map(([pkg, deps]) => ({
    files: [`${pkg}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: all.filter((p) => p !== pkg && !deps.includes(p)).map((p) => `@higgs/${p}`), message: `${pkg} may import only: ${deps.join(', ') || 'no @higgs package'} (ARCHITECTURE.md).` },
          { group: ['../../*/src/*', '../../../*/src/*'], message: 'Import another package through its name and exports, never its src/.' },
        ],
      }],
    },
  })),
);
