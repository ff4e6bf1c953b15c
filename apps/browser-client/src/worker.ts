// The site's compute: every tfjs call happens here, in a module Web Worker, so the page stays
// responsive while LNTK and training run (architecture.md). Exposed to the page via comlink.
import * as tf from '@tensorflow/tfjs';
import { expose } from 'comlink';
import {
  syntheticClient,
  type ClientName,
  type VqaSample,
  CLIENT_NAMES,
} from '@focus-fl/core/data';
import { PRESETS, loadModel, type VqaModel } from '@focus-fl/core/model';
import { evaluateSource, trainLayers } from '@focus-fl/core/train';
import { pickSamples } from '@focus-fl/core/importance';
import type { SampleSource } from '@focus-fl/core/data';
import { LNTK_SAMPLES, layerScoresFor } from './scores.js';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { BackendInfo, ModelInfo, Progress, Thumb, TrainConfig, WorkerApi } from './api.js';
import { initBackend } from './backend.js';
import { fetchModel } from './model-cache.js';
import { importFiles, importSynthetic } from './import/importer.js';
import { browserDecoders } from './import/wasm-browser.js';
import { toRgba } from './import/pixels.js';
import { firstSamples, forgetAll, getSamplesByKeys, sampleKeys, summarize } from './storage.js';

let backendInfo: BackendInfo | null = null;
let model: VqaModel | null = null;
let modelInfo: ModelInfo | null = null;
/**
 * Local samples as IndexedDB-backed sources: only the keys are in memory; training, LNTK and
 * evaluation read the minibatches they use (a full-size site does not fit in a tab as one
 * tensor). Rebuilt after every import.
 */
let data: { train: SampleSource<VqaSample>; test: SampleSource<VqaSample> } | null = null;
const decoders = browserDecoders();
let cancelRequested = false;

function asSamples(rows: Awaited<ReturnType<typeof getSamplesByKeys>>): VqaSample[] {
  return rows.map((r) => ({
    image: r.image,
    size: r.size,
    channels: r.channels,
    question: r.question,
    answer: r.answer,
    questionType: r.questionType as VqaSample['questionType'],
  }));
}

async function idbSource(split: 'train' | 'test'): Promise<SampleSource<VqaSample>> {
  const keys = await sampleKeys(split);
  return {
    length: keys.length,
    read: async (indices) => asSamples(await getSamplesByKeys(indices.map((i) => keys[i]))),
  };
}

async function local(): Promise<{ train: SampleSource<VqaSample>; test: SampleSource<VqaSample> }> {
  data ??= { train: await idbSource('train'), test: await idbSource('test') };
  if (data.train.length === 0) throw new Error('no local training data: import data first');
  return data;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function needModel(): VqaModel {
  if (!model) throw new Error('the base model is not loaded yet');
  return model;
}

/** Deterministic per-round seed from the coordinator's seed (never Math.random). */
function roundSeed(seed: number, round: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 31) + round * 7919) >>> 0;
}

const noProgress: Progress = () => undefined;

const api: WorkerApi = {
  async init({ backend, wasmBase }) {
    backendInfo ??= await initBackend(backend, wasmBase);
    return backendInfo;
  },

  summary: () => summarize(),

  async thumbnails(n) {
    return (await firstSamples(n)).map((s): Thumb => ({
      size: s.size,
      rgba: toRgba(s.image, s.size, s.channels),
      label: s.answer,
    }));
  },

  async importFiles(files, onProgress = noProgress) {
    cancelRequested = false;
    try {
      return await importFiles(files, onProgress, {
        decoders,
        // MedMNIST+ files are stored at the model's input side (tiny until a model is loaded).
        targetSize: model?.config.imageSize ?? PRESETS.tiny.imageSize,
        cancelled: () => cancelRequested,
        estimate: navigator.storage?.estimate ? () => navigator.storage.estimate() : undefined,
      });
    } finally {
      data = null;
    }
  },

  async cancelImport() {
    cancelRequested = true;
  },

  async useSynthetic(name, opts, onProgress = noProgress) {
    if (!(CLIENT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown synthetic client "${name}"; one of ${CLIENT_NAMES.join(', ')}`);
    }
    onProgress(0, 1, `generating ${name}`);
    const d = syntheticClient(name as ClientName, opts);
    const r = await importSynthetic(d, name, onProgress);
    data = null;
    return r;
  },

  async forget() {
    await forgetAll();
    data = null;
  },

  async loadModel(url, onProgress = noProgress) {
    if (model && modelInfo) return modelInfo;
    const { bytes, cached } = await fetchModel(url, onProgress);
    model = loadModel(bytes);
    modelInfo = {
      cached,
      bytes: bytes.byteLength,
      layers: model.layerNames(),
      preset: model.config.name,
    };
    return modelInfo;
  },

  async computeScores(method, round, layers, onProgress: Progress = noProgress) {
    const m = needModel();
    const { train } = await local();
    onProgress(0, 1, method);
    // Read only the samples the scorer uses (its own seeded pick, core pickSamples).
    const seed = roundSeed(1, round);
    const chosen = await train.read(pickSamples(range(train.length), LNTK_SAMPLES, seed));
    const byLayer = await layerScoresFor(method, m, chosen, seed);
    onProgress(1, 1, `${method} done`);
    return layers.map((l) => {
      const s = byLayer[l];
      if (s === undefined) throw new Error(`scores: the model has no layer "${l}"`);
      return s;
    });
  },

  async train(layers, config: TrainConfig, onProgress = noProgress) {
    const m = needModel();
    const { train } = await local();
    // The model must keep the global weights until the next round-start, which sends only the
    // layers that changed globally: snapshot what training touches and restore it afterwards.
    const before = m.getParams(m.trainableParamNames(layers));
    try {
      const res = await trainLayers(m, train, {
        layers,
        steps: config.steps,
        batchSize: config.batchSize,
        lr: config.lr,
        weightDecay: config.weightDecay,
        seed: roundSeed(config.seed, config.round),
        onProgress: (p) =>
          onProgress(p.step, p.steps, `step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)}`),
      });
      // Local metrics on (a slice of) the training data after the update: cheap and never
      // leaves the tab as anything but numbers.
      const ev = await evaluateSource(m, train, { limit: 128 });
      return {
        deltas: res.deltas,
        metrics: { loss: res.metrics.meanLoss, accuracy: ev.accuracy, perType: ev.perType },
      };
    } finally {
      m.setParams(before);
    }
  },

  async evaluate() {
    const m = needModel();
    const { test } = await local();
    const ev = await evaluateSource(m, test);
    return { accuracy: ev.accuracy, loss: ev.loss, numSamples: ev.n, perType: ev.perType };
  },

  async getParams(names) {
    return needModel().getParams(names);
  },

  async setGlobal(params: NamedArrays) {
    needModel().setParams(params);
  },

  async ping() {
    return tf.memory().numTensors;
  },
};

expose(api);
