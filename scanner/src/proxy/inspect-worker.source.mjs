// The inspection worker thread when the scanner runs from its sources (tsx, vitest): TypeScript is
// loaded through tsx, registered in this thread. The bundle has its own worker file (scripts/bundle.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./inspect-worker.ts');
