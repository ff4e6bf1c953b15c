// Worker bootstrap: Node 20 does not apply `--import tsx` to a worker's entry module, so we
// register tsx's ESM loader here and then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./solver-worker.ts');
