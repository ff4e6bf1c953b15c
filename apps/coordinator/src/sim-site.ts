/**
 * A simulated site in Node: the same core model, scoring, training and evaluation the browser
 * worker uses, on a synthetic client's data (train split for scores and training, test split
 * for held-out evaluation). Plugs into the shared SiteClient as its LocalCompute.
 */
import type { ClientName, VqaSample } from '@focus-fl/core/data';
import { syntheticClient } from '@focus-fl/core/data';
import { computeLntk, scoreLayers, type ScorerMethod } from '@focus-fl/core/importance';
import { loadModel, type VqaModel } from '@focus-fl/core/model';
import { evaluate, trainLayers } from '@focus-fl/core/train';
import { localEvalOptions, localTrainOptions, type LocalCompute } from '@focus-fl/core/federated';
import { hashSeed } from './seeds.js';

export interface SimSiteOptions {
  name: ClientName;
  seed: number;
  /** Base checkpoint (as served at /model/base.safetensors). */
  baseBytes: Uint8Array;
  scale?: number;
  floor?: number;
  /** Cap on held-out samples evaluated per round (speed). */
  maxTest?: number;
  lntkSamples?: number;
}

export interface SimSite extends LocalCompute {
  name: ClientName;
  model: VqaModel;
  train: LocalCompute['train'];
  data: { train: VqaSample[]; test: VqaSample[] };
  trained: { round: number; layers: string[] }[];
  dispose(): void;
}

export function createSimSite(o: SimSiteOptions): SimSite {
  const data = syntheticClient(o.name, { seed: o.seed, scale: o.scale, floor: o.floor });
  const test = o.maxTest ? data.test.slice(0, o.maxTest) : data.test;
  const model = loadModel(o.baseBytes);
  const trained: { round: number; layers: string[] }[] = [];
  const trainAnswers = () => data.train.map((s) => s.answer);
  const seedFor = (round: number, what: string) => hashSeed(o.seed, round, `${o.name}:${what}`);
  return {
    name: o.name,
    model,
    data: { train: data.train, test },
    trained,
    numSamples: () => data.train.length,
    async computeScores(method, round, layers) {
      const own = model.layerNames();
      let byLayer: number[];
      if (method === 'none') byLayer = own.map(() => 1 / own.length);
      else if (method === 'lntk') {
        const r = computeLntk(model, data.train, {
          numSamples: o.lntkSamples ?? 16,
          seed: seedFor(round, 'lntk'),
        });
        byLayer = own.map((l) => r.scores[r.layers.indexOf(l)]);
      } else {
        byLayer = scoreLayers(method as ScorerMethod, model, data.train, {
          seed: seedFor(round, method),
        });
      }
      return layers.map((l) => {
        const i = own.indexOf(l);
        if (i < 0) throw new Error(`scores: the model has no layer "${l}"`);
        return byLayer[i];
      });
    },
    async train(layers, cfg) {
      trained.push({ round: cfg.round, layers: [...layers] });
      // The model must hold the global weights until the next round-start (which sends only
      // the layers that changed globally): snapshot and restore exactly.
      const before = model.getParams(model.trainableParamNames(layers));
      const res = await trainLayers(model, data.train, {
        layers,
        steps: cfg.steps,
        batchSize: cfg.batchSize,
        lr: cfg.lr,
        weightDecay: cfg.weightDecay,
        seed: seedFor(cfg.round, 'train'),
        ...localTrainOptions(cfg),
      });
      const ev = await evaluate(
        model,
        data.train.slice(0, 64),
        localEvalOptions(cfg, trainAnswers),
      );
      model.setParams(before);
      return {
        deltas: res.deltas,
        metrics: { loss: res.metrics.meanLoss, accuracy: ev.accuracy, perType: ev.perType },
      };
    },
    async evaluate(cfg) {
      const ev = await evaluate(model, test, localEvalOptions(cfg, trainAnswers));
      return { accuracy: ev.accuracy, loss: ev.loss, numSamples: ev.n, perType: ev.perType };
    },
    setGlobal(params) {
      model.setParams(params);
    },
    dispose() {
      model.dispose();
    },
  };
}
