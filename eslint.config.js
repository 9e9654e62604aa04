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
  evals: ['schema', 'bpf', 'scanner', 'tools', 'agent', 'tenant-api', 'demo', 'ui'],
  charts: [],
};
const all = Object.keys(allowed);
// Tests may use the shared CI gate (HIGGS_REQUIRE_*), whatever their package.
const TEST_ONLY = ['@higgs/evals/testing'];

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
  ...Object.entries(allowed).map(([pkg, deps]) => {
    const forbidden = all.filter((p) => p !== pkg && !deps.includes(p));
    const message = `${pkg} may import only: ${deps.join(', ') || 'no @higgs package'} (ARCHITECTURE.md).`;
    return {
      files: [`${pkg}/**/*.{ts,tsx}`],
      rules: {
        'no-restricted-imports': ['error', {
          paths: forbidden.map((p) => ({ name: `@higgs/${p}`, message })),
          patterns: [
            { group: forbidden.map((p) => `@higgs/${p}/*`).concat(TEST_ONLY.map((t) => `!${t}`)), message },
            { group: ['../../*/src/*', '../../../*/src/*'], message: 'Import another package through its name and exports, never its src/.' },
          ],
        }],
      },
    };
  }),
  {
    // …but only tests: product code never depends on the evals package.
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['**/*.test.ts', '**/*.test.tsx', 'evals/**'],
    rules: { 'no-restricted-syntax': ['error',
      { selector: 'ExportAllDeclaration', message: 'List public names explicitly (no export *).' },
      { selector: "ImportDeclaration[source.value='@higgs/evals/testing']", message: '@higgs/evals/testing is for tests only.' },
    ] },
  },
);
