/**
 * What other packages need from the UI: where its build lives. The tenant serves
 * this directory as static files (`npm run build -w @higgs/ui` writes it).
 *
 * @example
 * fastify.register(fastifyStatic, { root: fileURLToPath(uiDistUrl) });
 */
export const uiDistUrl: URL = new URL('../dist/', import.meta.url);
