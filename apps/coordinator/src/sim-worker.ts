// Worker-thread entry for `pnpm simulate --parallel N` (sim-threads.ts): runs the sites it is
// given with its own tfjs backend, each through the real ws protocol to the coordinator on the
// main thread, and posts back how each ended.
import { parentPort, workerData } from 'node:worker_threads';
import { SiteClient } from '@focus-fl/core/federated';
import { initNodeBackend } from '@focus-fl/core/node';
import { createSimSite, type SimSite } from './sim-site.js';
import { connectWs } from './ws-transport.js';
import type { SiteThreadInput } from './sim-threads.js';

const input = workerData as SiteThreadInput;
const sites: SimSite[] = [];
try {
  await initNodeBackend(input.backend);
  const outcomes = await Promise.all(
    input.sites.map((s) => {
      const site = createSimSite({ ...s.options, baseBytes: input.baseBytes });
      sites.push(site);
      return new SiteClient({ token: s.token, backend: 'node', compute: site }).run(() =>
        connectWs(input.url),
      );
    }),
  );
  parentPort?.postMessage({ ok: true, outcomes });
} catch (e) {
  parentPort?.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
} finally {
  for (const s of sites) s.dispose();
}
