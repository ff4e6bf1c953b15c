// Linear probe of the frozen base per block (bench/lib/probe.ts): can the sites' modalities be
// told apart from its hidden states? 200 held-out samples per site, seed 0.
//   pnpm exec tsx bench/diagnostics/modality-probe.ts [CLIENTS]
import { modelSourceFromConfig } from '../../apps/coordinator/src/model-source.js';
import { loadModel } from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import { labSites } from '../lib/fedlab.js';
import { modalityProbe } from '../lib/probe.js';

await initNodeBackend('wasm');
const sites = labSites(Number(process.argv[2] ?? 4), 0, { testSize: 300 });
const model = loadModel(modelSourceFromConfig({ preset: 'tiny', modelSeed: 0 }).baseBytes!);
console.table(
  modalityProbe(
    model,
    sites.map((s) => s.test.slice(0, 200)),
  ),
);
model.dispose();
