// Scale of the image position embeddings of a checkpoint against the patch content they are
// added to (RMS per channel over the patches of held-out shapes-task images).
//   pnpm exec tsx bench/diagnostics/position-scale.ts packages/core/assets/tiny-base.safetensors
import { readFileSync } from 'node:fs';
import { loadModel } from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import { shapesTask } from '../../packages/core/src/train/index.js';

await initNodeBackend('wasm');
for (const file of process.argv.slice(2)) {
  const m = await loadModel(new Uint8Array(readFileSync(file)), { weights: 'fp32' });
  const c = m.config;
  const H = c.hidden;
  const g = c.imageSize / c.patchSize;
  const N = g * g;
  const P = c.patchSize;
  const {
    'image_embed/position': pos,
    'patch_embed/kernel': K,
    'patch_embed/bias': B,
  } = m.getParams(['image_embed/position', 'patch_embed/kernel', 'patch_embed/bias']);
  // Position rows 1..N, centred over the patches (a constant offset carries no position).
  const mean = new Float64Array(H);
  for (let i = 1; i <= N; i++) for (let h = 0; h < H; h++) mean[h] += pos.data[i * H + h] / N;
  let posVar = 0;
  for (let i = 1; i <= N; i++)
    for (let h = 0; h < H; h++) posVar += (pos.data[i * H + h] - mean[h]) ** 2 / (N * H);
  // Patch content: patch_embed(patch) over the patches of 200 object images, centred.
  const samples = shapesTask(200, 4242).filter((s) => s.questionType !== 'pattern');
  const rows: Float64Array[] = [];
  for (const s of samples)
    for (let pr = 0; pr < g; pr++)
      for (let pc = 0; pc < g; pc++) {
        const v = new Float64Array(H);
        for (let y = 0; y < P; y++)
          for (let x = 0; x < P; x++)
            for (let ch = 0; ch < 3; ch++) {
              const px =
                s.image[
                  ((pr * P + y) * 28 + pc * P + x) * s.channels + (s.channels === 1 ? 0 : ch)
                ];
              const val = px / 127.5 - 1;
              const k = (y * P + x) * 3 + ch;
              for (let h = 0; h < H; h++) v[h] += val * K.data[k * H + h];
            }
        for (let h = 0; h < H; h++) v[h] += B.data[h];
        rows.push(v);
      }
  const cm = new Float64Array(H);
  for (const r of rows) for (let h = 0; h < H; h++) cm[h] += r[h] / rows.length;
  let cVar = 0;
  for (const r of rows) for (let h = 0; h < H; h++) cVar += (r[h] - cm[h]) ** 2 / (rows.length * H);
  console.log(
    `${file}: position RMS ${Math.sqrt(posVar).toFixed(3)} per channel (centred over patches), patch content RMS ${Math.sqrt(cVar).toFixed(3)}, ratio ${(Math.sqrt(posVar) / Math.sqrt(cVar)).toFixed(3)}`,
  );
}
