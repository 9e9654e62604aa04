// @higgs/evals/testing: what the other packages' integration tests share
export { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumMissing, requireOrSkip } from './require.ts';
export { until } from './until.ts';
