// The site's compute: every tfjs call happens here, in a module Web Worker, so the page stays
// responsive while LNTK and training run. Exposed to the page via comlink. Scoring, training
// and evaluation are core's ModelCompute, the same LocalCompute the Node simulator uses.
import * as tf from '@tensorflow/tfjs';
import { expose } from 'comlink';
import {
  syntheticClient,
  type ClientName,
  type SampleSource,
  type VqaSample,
  CLIENT_NAMES,
} from '@focus-fl/core/data';
import {
  PRESETS,
  checkInt8MatMul,
  createModel,
  fusedInt8MatMulCalls,
  loadModel,
  type SampleLike,
  type VqaModel,
} from '@focus-fl/core/model';
import { backendMemoryBytes, probeActivationBytes } from '@focus-fl/core/train';
import { ModelCompute } from '@focus-fl/core/site';
import { probeStepMs } from '@focus-fl/core/train';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { BackendInfo, ModelInfo, Progress, Thumb, WorkerApi } from './api.js';
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
 * Local samples as IndexedDB-backed sources: only the keys are in memory; scoring, training
 * and evaluation read the minibatches they use, so a full-size site never sits in the tab as
 * one array or tensor. Rebuilt after every import.
 */
let data: { train: SampleSource<VqaSample>; test: SampleSource<VqaSample> } | null = null;
/** The site's compute over `model` and `data`; rebuilt when either changes. */
let compute: ModelCompute | null = null;
/** Compressed-DICOM decoders (wasm fetched on first use). */
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

function needModel(): VqaModel {
  if (!model) throw new Error('the base model is not loaded yet');
  return model;
}

async function local(): Promise<ModelCompute> {
  const m = needModel();
  if (!data) {
    data = { train: await idbSource('train'), test: await idbSource('test') };
    compute = null;
  }
  compute ??= new ModelCompute({ model: m, train: data.train, test: data.test });
  return compute;
}

/** Imported or forgotten data: read it again on next use. */
function dataChanged(): void {
  data = null;
  compute = null;
}

const noProgress: Progress = () => undefined;

/**
 * The backend probe (backend.ts): two timed training steps (batch 8, every adapter + head) of a
 * seeded `tiny` model on synthetic 28 px samples, so it needs neither the served model nor
 * local data and runs before either is there.
 */
async function probeBackend(stop: () => boolean): Promise<number> {
  const m = createModel('tiny', { seed: 0 });
  const samples: SampleLike[] = Array.from({ length: 8 }, (_, i) => ({
    image: new Uint8Array(28 * 28).map((_, j) => (j * 31 + i * 17) % 256),
    size: 28,
    channels: 1,
    question: 'is there a lesion in the upper left region?',
    answer: m.answers[i % m.answers.length],
    questionType: 'probe',
  }));
  try {
    return await probeStepMs(m, samples, { batchSize: 8, steps: 2, stop });
  } finally {
    m.dispose();
  }
}

const api: WorkerApi = {
  async init({ backend, wasmBase }) {
    backendInfo ??= await initBackend(backend, wasmBase, probeBackend);
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
      dataChanged();
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
    dataChanged();
    return r;
  },

  async forget() {
    await forgetAll();
    dataChanged();
  },

  async loadModel(url, onProgress = noProgress, opts = {}) {
    if (model && modelInfo) return modelInfo;
    const { bytes, cached } = await fetchModel(url, onProgress);
    model = loadModel(bytes, { weights: opts.weights ?? 'int8' });
    // Measure what a pass takes on this tab's backend once, so micro-batches, LNTK and
    // evaluation chunks fit its memory (core/train/memory-budget.ts).
    if (opts.probe !== false) await probeActivationBytes(model);
    modelInfo = {
      cached,
      bytes: bytes.byteLength,
      layers: model.layerNames(),
      preset: model.config.name,
      residentBytes: model.residentBytes().total,
      fp32Bytes: 4 * (model.countParams().trainable + model.countParams().frozen),
      deviceInt8: Object.values(model.int8Storages()).filter((s) => s === 'device').length,
    };
    return modelInfo;
  },

  async computeScores(request, onProgress: Progress = noProgress) {
    return (await local()).computeScores(request, onProgress);
  },

  async train(layers, config, onProgress = noProgress) {
    return (await local()).train(layers, config, onProgress);
  },

  async evaluate(config) {
    return (await local()).evaluate(config);
  },

  async getParams(names) {
    return needModel().getParams(names);
  },

  async setGlobal(params: NamedArrays) {
    needModel().setParams(params);
  },

  async memory() {
    // A full collection first where the engine exposes one (--js-flags=--expose-gc: benches).
    (globalThis as { gc?: () => void }).gc?.();
    return {
      backend: tf.getBackend(),
      tfBytes: tf.memory().numBytes,
      tfTensors: tf.memory().numTensors,
      backendBytes: backendMemoryBytes(),
      residentBytes: model?.residentBytes().total ?? 0,
      fusedInt8MatMuls: fusedInt8MatMulCalls(),
    };
  },

  checkInt8MatMul: (cases) => checkInt8MatMul(cases),

  async ping() {
    return tf.memory().numTensors;
  },
};

expose(api);
