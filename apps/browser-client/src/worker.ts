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
import { loadModel, type VqaModel } from '@focus-fl/core/model';
import { evaluate, trainLayers } from '@focus-fl/core/train';
import { localEvalOptions, localTrainOptions, type RoundConfig } from '@focus-fl/core/federated';
import { layerScoresFor } from './scores.js';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { BackendInfo, ModelInfo, Progress, Thumb, TrainConfig, WorkerApi } from './api.js';
import { initBackend } from './backend.js';
import { fetchModel } from './model-cache.js';
import { importFiles, importSynthetic } from './import/importer.js';
import { toRgba } from './import/pixels.js';
import { firstSamples, forgetAll, getSamples, summarize } from './storage.js';

let backendInfo: BackendInfo | null = null;
let model: VqaModel | null = null;
let modelInfo: ModelInfo | null = null;
/** Local samples, read from IndexedDB once per import (training reads them every round). */
let data: { train: VqaSample[]; test: VqaSample[] } | null = null;

function asSamples(rows: Awaited<ReturnType<typeof getSamples>>): VqaSample[] {
  return rows.map((r) => ({
    image: r.image,
    size: r.size,
    channels: r.channels,
    question: r.question,
    answer: r.answer,
    questionType: r.questionType as VqaSample['questionType'],
  }));
}

async function local(): Promise<{ train: VqaSample[]; test: VqaSample[] }> {
  data ??= {
    train: asSamples(await getSamples('train')),
    test: asSamples(await getSamples('test')),
  };
  if (data.train.length === 0) throw new Error('no local training data: import data first');
  return data;
}

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
    const r = await importFiles(files, onProgress);
    data = null;
    return r;
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
    const byLayer = await layerScoresFor(method, m, train, roundSeed(1, round));
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
        ...localTrainOptions(config),
        onProgress: (p) =>
          onProgress(p.step, p.steps, `step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)}`),
      });
      // Local metrics on (a slice of) the training data after the update: cheap and never
      // leaves the tab as anything but numbers.
      const ev = await evaluate(
        m,
        train.slice(0, 128),
        localEvalOptions(config, () => train.map((s) => s.answer)),
      );
      return {
        deltas: res.deltas,
        metrics: { loss: res.metrics.meanLoss, accuracy: ev.accuracy, perType: ev.perType },
      };
    } finally {
      m.setParams(before);
    }
  },

  async evaluate(config?: Pick<RoundConfig, 'answerMask'>) {
    const m = needModel();
    const { train, test } = await local();
    const ev = await evaluate(
      m,
      test,
      localEvalOptions(config, () => train.map((s) => s.answer)),
    );
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
