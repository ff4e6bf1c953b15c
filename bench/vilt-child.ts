// Child process of bench/vilt.bench.ts: loads a base checkpoint with int8 or fp32 weights in
// memory on the wasm backend, runs one forward pass of one sample, and prints one JSON line
// with the process's memory (a fresh process per mode, since a wasm heap never shrinks).
//   node --expose-gc --import tsx bench/vilt-child.ts FILE.safetensors int8|fp32
import { readFileSync } from 'node:fs';
import { syntheticClient } from '../packages/core/src/data/index.js';
import {
  disposeBatch,
  encodeBatch,
  loadModel,
  type VqaModel,
} from '../packages/core/src/model/index.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import {
  activationFloatsPerSample,
  autoMicroBatchSize,
  probeActivationBytes,
} from '../packages/core/src/train/index.js';

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Reads and parses the checkpoint; nothing but the model outlives the call. */
function loadFile(file: string, weights: 'int8' | 'fp32'): VqaModel {
  const buf = readFileSync(file);
  return loadModel(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { weights });
}

async function main(): Promise<void> {
  const [file, weights] = process.argv.slice(2);
  if (!file || (weights !== 'int8' && weights !== 'fp32'))
    throw new Error('usage: vilt-child.ts FILE.safetensors int8|fp32');
  await initNodeBackend('wasm');
  const sample = syntheticClient('chest_xray', { seed: 0 }).train[0];
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  gc();
  gc();
  // The baseline is taken before the file is read, so the growth counts everything loading
  // leaves behind (the checkpoint's bytes are garbage once parsed: every tensor is a copy).
  const rss0 = process.memoryUsage().rss;
  const model = loadFile(file, weights);
  const resident = model.residentBytes();
  gc(); // the file's bytes and the decoded arrays the backend copied are garbage now
  gc();
  const rssLoaded = process.memoryUsage().rss;
  const batch = encodeBatch([{ ...sample, answer: model.answers[0] }], model);
  const t0 = performance.now();
  await model.predictLogits(batch);
  const forwardMs = performance.now() - t0;
  disposeBatch(batch);
  // The measured tape cost of one block per sample vs the estimate autoMicroBatchSize falls
  // back to, and the micro-batch it then picks for a pass through every block.
  const estimatedBlockBytes = 4 * activationFloatsPerSample(model.config).perBlock;
  const probedBlockBytes = await probeActivationBytes(model);
  const out = {
    weights,
    residentBytes: resident.total,
    int8Bytes: resident.int8,
    fp32TensorBytes: resident.fp32Tensors,
    rssAfterLoad: rssLoaded - rss0,
    peakRss: peakRss(),
    forwardMs: Math.round(forwardMs),
    estimatedBlockBytes,
    probedBlockBytes,
    microBatchAllBlocks: autoMicroBatchSize(model.config, model.config.numLayers),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
