// Worker bootstrap: Node 20 does not apply tsx's `--import` loader to a worker's entry
// module, so register tsx here, then load the TypeScript entry named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
