// Training speed of the `tiny` model in Node, per backend (wasm, cpu), against that backend's
// own ceiling measured in the same run:
// - large-matmul GFLOP/s (1024^3 on wasm, 512^3 on cpu) and the model's own 2-D product shape;
// - per layer selection: trainLayers step time (batch 16, frozen-prefix cache on), the step's
//   FLOPs (model/flops.ts, derivation in packages/core/src/model/README.md) and the achieved
//   GFLOP/s, as a share of the large-matmul ceiling; on wasm also with tfjs's own matMul
//   gradient (transposed products, model/matmul-grad.ts) and with the cache off ("before"),
//   and without the fused kernels (LayerNorm, GELU, softmax, dense, AdamW: model/wasm-fused.ts);
// - a per-kernel time profile of one all-adapters step (tf.profile);
// - "before": tfjs's own wasm kernels (copying Identity, scalar batched BatchMatMul;
//   model/wasm-kernels.ts) and matMul gradient, cache off;
// - LNTK (16 samples) against one all-adapters training step (the <= 1.1 steps target): medians
//   of 11 alternating pairs, and the ratio of the fastest of each.
// GFLOP/s and ratios use this process's CPU time (single-threaded tfjs; the machine's 2 cores are
// shared with other work, which inflates wall time but not CPU time); wall ms are shown beside.
// Fine-tuning quality (head only vs adapters on synthetic clients) follows, as before.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  answerVocabulary,
  syntheticClient,
  type ClientName,
} from '../packages/core/src/data/index.js';
import { computeLntk } from '../packages/core/src/importance/vqa.js';
import {
  createModel,
  loadModel,
  trainStepFlops,
  useExplicitMatMulGradient,
  useFusedKernels,
  useWasmKernels,
  type VqaModel,
} from '../packages/core/src/model/index.js';
import {
  initNodeBackend,
  readTinyBase,
  TINY_BASE_PATH,
  type NodeBackend,
} from '../packages/core/src/node/index.js';
import {
  dispatchMs,
  evaluate,
  kernelProfile,
  majorityBaseline,
  matmulGflops,
  trainLayers,
} from '../packages/core/src/train/index.js';
import type { BenchResult } from './types.js';

const BATCH = 16;

function model(seed: number): VqaModel {
  const m = existsSync(TINY_BASE_PATH)
    ? loadModel(readTinyBase(), { seed })
    : createModel('tiny', { seed });
  m.resetHead(answerVocabulary(), seed);
  return m;
}

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

function matmul(m: number, k: number, n: number, reps: number) {
  const c = matmulGflops(m, k, n, reps, cpuMs);
  const w = matmulGflops(m, k, n, reps);
  return { cpu: c.ms, wall: w.ms, gflops: c.gflops };
}

const fmt = (x: number, d = 1) => Number(x.toFixed(d));

export async function run(): Promise<BenchResult> {
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [
    'command: nice -n 10 pnpm bench train',
    `load average at the start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
    'GFLOP/s and "of ceiling" use CPU time of this single-threaded process; wallMs includes contention from other processes on the 2 shared cores.',
  ];
  const data = syntheticClient('chest_xray', { seed: 1 });
  const samples = data.train; // 283 samples
  for (const backend of ['wasm', 'cpu'] as NodeBackend[]) {
    await initNodeBackend(backend);
    const wasm = backend === 'wasm';
    const big = wasm ? 1024 : 512;
    const ceiling = matmul(big, big, big, wasm ? 5 : 2);
    const shaped = matmul(BATCH * 33, 64, 128, wasm ? 200 : 20);
    rows.push({
      backend,
      what: `matmul ${big}^3 (ceiling)`,
      cpuMs: fmt(ceiling.cpu),
      wallMs: fmt(ceiling.wall),
      gflops: fmt(ceiling.gflops),
    });
    rows.push({
      backend,
      what: `matmul ${BATCH * 33}x64 @ 64x128 (the model's dense shape)`,
      cpuMs: fmt(shaped.cpu, 3),
      wallMs: fmt(shaped.wall, 3),
      gflops: fmt(shaped.gflops),
    });
    const L = model(1).layerNames();
    const selections: [string, number[]][] = [
      ['head only', []],
      ['late 1 (block5)', [5]],
      ['late 2 (block4,5)', [4, 5]],
      ['middle 2 (block2,5)', [2, 5]],
      ['early 2 (block0,4)', [0, 4]],
      ['all 6', [0, 1, 2, 3, 4, 5]],
    ];
    // [label, our kernels and matMul gradient, frozen-prefix cache, fused kernels]
    const variants: [string, boolean, boolean, boolean][] = wasm
      ? [
          ['now', true, true, true],
          ['without the fused kernels', true, true, false],
          ['before (tfjs kernels and matMul gradient, no cache)', false, false, false],
        ]
      : [['now', true, true, true]];
    const steps = wasm ? 24 : 4;
    for (const [variant, explicit, cache, fused] of variants) {
      useExplicitMatMulGradient(explicit);
      useWasmKernels(explicit);
      useFusedKernels(fused);
      for (const [label, blocks] of selections) {
        const layers = blocks.map((i) => L[i]);
        const m = model(1);
        await trainLayers(m, samples.slice(0, BATCH), {
          layers,
          steps: 1,
          batchSize: BATCH,
          seed: 1,
        });
        const c0 = cpuMs();
        const r = await trainLayers(m, samples, {
          layers,
          steps,
          batchSize: BATCH,
          seed: 1,
          prefixCacheBytes: cache ? undefined : 0,
        });
        const cpu = (cpuMs() - c0) / steps;
        const config = m.config;
        m.dispose();
        // FLOPs done: every step's forward + backward, plus the prefix of each sample once
        // (cached: a permutation per epoch draws min(N, steps * batch) distinct samples).
        const f = trainStepFlops(config, BATCH, blocks, r.metrics.prefixCached);
        const drawn = Math.min(samples.length, steps * BATCH);
        const prefixRows = r.metrics.prefixCached ? drawn : steps * BATCH;
        const flops = steps * (f.forward + f.backward) + (f.prefix / BATCH) * prefixRows;
        const gflops = flops / steps / cpu / 1e6;
        rows.push({
          backend,
          what: `step ${label}, batch ${BATCH}, ${variant}`,
          cpuMs: fmt(cpu),
          wallMs: fmt((1000 * r.metrics.seconds) / steps),
          mflopPerStep: fmt(flops / steps / 1e6),
          gflops: fmt(gflops, 2),
          ofCeiling: `${((100 * gflops) / ceiling.gflops).toFixed(1)} %`,
        });
      }
    }
    useExplicitMatMulGradient(true);
    useWasmKernels(true);
    useFusedKernels(true);
    const all = rows.filter((r) => r.backend === backend && String(r.what).includes('all 6'));
    notes.push(
      `${backend}: all-6 step ${all.map((r) => `${r.gflops} GFLOP/s = ${r.ofCeiling} of the ${fmt(ceiling.gflops)} GFLOP/s matmul ceiling (${String(r.what).split(', ').slice(2).join(', ')})`).join('; ')}.`,
    );

    // Per-kernel profile of one all-adapters step (kernel times are wall ms inside the step;
    // each kernel's fastest of 5 profiled steps, which drops the moments another process had
    // the core).
    const m = model(1);
    const opts = { layers: L, steps: 1, batchSize: BATCH, seed: 1 };
    await trainLayers(m, samples.slice(0, BATCH), opts);
    const prof = await kernelProfile(() => trainLayers(m, samples.slice(0, BATCH), opts), 5);
    m.dispose();
    const top = prof.byKernel.slice(0, 10);
    for (const e of top) {
      rows.push({
        backend,
        what: `profile all-6 step: ${e.name}`,
        kernels: e.kernels,
        kernelMs: fmt(e.ms, 2),
        share: `${((100 * e.ms) / prof.total).toFixed(1)} %`,
      });
    }
    // What the kernel count costs by itself: a no-work kernel's dispatch time (CPU) times the
    // step's kernels, against the step's CPU time.
    const dispatch = dispatchMs(wasm ? 3000 : 300, cpuMs);
    const allNow = rows.find(
      (r) => r.backend === backend && String(r.what) === `step all 6, batch ${BATCH}, now`,
    ) as { cpuMs: number } | undefined;
    rows.push({
      backend,
      what: "dispatch: one 16-element add (CPU), times the all-6 step's kernels",
      cpuMs: fmt(dispatch, 4),
      kernels: prof.count,
      kernelMs: fmt(dispatch * prof.count, 1),
      share: allNow
        ? `${((100 * dispatch * prof.count) / allNow.cpuMs).toFixed(0)} % of the step`
        : '',
    });
    notes.push(
      `${backend} profile (one all-6 step, ${prof.count} kernels, ${prof.total.toFixed(1)} ms of kernel time, each kernel's fastest of 5): ${top
        .slice(0, 5)
        .map((e) => `${e.name} ${((100 * e.ms) / prof.total).toFixed(0)} %`)
        .join(
          ', ',
        )}; dispatch alone (${(1000 * dispatch).toFixed(1)} us per kernel) is ${(dispatch * prof.count).toFixed(1)} ms${allNow ? ` of the step's ${allNow.cpuMs} CPU-ms` : ''}.`,
    );

    // LNTK (16 samples, batched path) against one all-adapters training step.
    if (wasm) {
      for (const [label, explicit, fused] of [
        ['now', true, true],
        ['without the fused kernels', true, false],
        ['tfjs kernels and matMul gradient', false, false],
      ] as const) {
        useExplicitMatMulGradient(explicit);
        useWasmKernels(explicit);
        useFusedKernels(fused);
        const lm = model(1);
        // Alternating, 11 pairs; medians, and the fastest of each (the least disturbed by
        // other work on the shared cores) beside them: single timings vary by +-20 % here.
        const lntkMs: number[] = [];
        const stepMs: number[] = [];
        await trainLayers(lm, samples.slice(0, BATCH), { ...opts, prefixCacheBytes: 0 });
        computeLntk(lm, samples, { numSamples: 16, seed: 1 });
        for (let i = 0; i < 11; i++) {
          let c0 = cpuMs();
          computeLntk(lm, samples, { numSamples: 16, seed: 1 });
          lntkMs.push(cpuMs() - c0);
          c0 = cpuMs();
          await trainLayers(lm, samples.slice(0, BATCH), { ...opts, prefixCacheBytes: 0 });
          stepMs.push(cpuMs() - c0);
        }
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
        const lntk = { cpu: median(lntkMs) };
        const st = { cpu: median(stepMs) };
        lm.dispose();
        rows.push({
          backend,
          what: `LNTK (16 samples) vs all-6 step, ${label}`,
          cpuMs: fmt(lntk.cpu),
          stepCpuMs: fmt(st.cpu),
          ratio: fmt(lntk.cpu / st.cpu, 2),
          fastestRatio: fmt(Math.min(...lntkMs) / Math.min(...stepMs), 2),
        });
      }
      useExplicitMatMulGradient(true);
      useWasmKernels(true);
      useFusedKernels(true);
    }
  }

  // Fine-tuning quality on synthetic clients: fresh head on the pretrained int8 base, then
  // head only (a linear probe) vs all adapters + head, against the majority answer.
  await initNodeBackend('wasm');
  const clients = (process.env.FINETUNE_CLIENTS ?? 'blood_microscope,chest_xray,dermatoscope')
    .split(',')
    .filter(Boolean);
  const ftSteps = Number(process.env.FINETUNE_STEPS ?? 120);
  for (const client of clients) {
    const d = syntheticClient(client as ClientName, { seed: 1 });
    const maj = majorityBaseline(d.train, d.test).accuracy;
    const row: Record<string, unknown> = {
      backend: 'wasm',
      what: `finetune ${client} (${d.train.length}/${d.test.length}), ${ftSteps} steps`,
      majority: maj.toFixed(3),
    };
    for (const [label, all] of [
      ['headOnly', false],
      ['adapters', true],
    ] as const) {
      const m = model(1);
      if (label === 'headOnly') row.baseFreshHead = (await evaluate(m, d.test)).accuracy.toFixed(3);
      await trainLayers(m, d.train, {
        layers: all ? m.layerNames() : [],
        steps: ftSteps,
        batchSize: 32,
        lr: 3e-3,
        seed: 1,
      });
      row[label] = (await evaluate(m, d.test)).accuracy.toFixed(3);
      m.dispose();
    }
    rows.push(row);
  }
  return { name: 'train', rows, notes };
}
