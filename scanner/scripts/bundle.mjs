/* global console, process */
// Bundles the scanner daemon (src/cli.ts with its workspace packages and npm
// dependencies) into dist/higgs-scanner.mjs, which bin/higgs-scanner runs with
// plain node. Run at `npm install` and by `npm run build -w @higgs/scanner`.
//
// Why: under the tsx loader the daemon carries the loader's own thread and
// transform caches, ~28 MB of resident memory on every node, for nothing a
// deployed scanner needs. The tests and `npm start` keep running the sources.
//
// It never fails the install: without esbuild the launcher runs the sources.
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'higgs-scanner.mjs');
// the inspection worker thread (src/proxy/inspect-offload.ts loads it beside the bundle)
const workerOut = join(root, 'dist', 'higgs-inspect-worker.mjs');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  console.warn(`@higgs/scanner: not bundled (esbuild unavailable: ${err.message}); bin/higgs-scanner runs the sources with tsx`);
  process.exit(0);
}

/*
 * @higgs/bpf finds its build/ (the addon and the BPF objects) from its own
 * module URL. Bundled, that URL would be the bundle's: it is rewritten to the
 * path of native.ts relative to the bundle, so a checkout moved as a whole
 * still finds its addon.
 */
const bpfNative = {
  name: 'bpf-native-url',
  setup(build) {
    build.onLoad({ filter: /[\\/]bpf[\\/]src[\\/]native\.ts$/ }, (args) => {
      const fromBundle = relative(dirname(out), args.path).split('\\').join('/');
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) throw new Error(`${args.path} no longer uses import.meta.url: update scripts/bundle.mjs`);
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

mkdirSync(dirname(out), { recursive: true });
const partial = `${out}.partial`;
const workerPartial = `${workerOut}.partial`;
const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require(): give the ES module one
  banner: { js: "import { createRequire as __higgsCreateRequire } from 'node:module'; const require = __higgsCreateRequire(import.meta.url);" },
  plugins: [bpfNative],
  logLevel: 'warning',
};
try {
  await esbuild.build({ ...options, entryPoints: [join(root, 'src', 'proxy', 'inspect-worker.ts')], outfile: workerPartial });
  await esbuild.build({ ...options, entryPoints: [join(root, 'src', 'cli.ts')], outfile: partial });
  // whole or not at all: the launcher must never start a half-written bundle, nor one without its worker
  renameSync(workerPartial, workerOut);
  renameSync(partial, out);
  console.log(`@higgs/scanner: bundled ${out} and ${workerOut}`);
} catch (err) {
  for (const f of [partial, out, workerPartial, workerOut]) rmSync(f, { force: true });
  console.warn(`@higgs/scanner: not bundled (${err.message.split('\n')[0]}); bin/higgs-scanner runs the sources with tsx`);
}
