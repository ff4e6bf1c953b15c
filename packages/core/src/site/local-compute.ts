/**
 * The one LocalCompute of a site (federated/site-client.ts): scoring, local training, local
 * metrics and held-out evaluation on the core model. The browser worker and the Node
 * simulator both use it, so a tab and a simulated site given the same data, weights and round
 * config compute the same numbers.
 *
 * Seeds: every draw derives from the round config's `seed`, which the coordinator derives from
 * the federation seed, the round and the site name; each use gets its own stream
 * (`deriveSeed(seed, round, purpose)`).
 *
 * Training never leaves its mark on the model: the model must hold the global weights until
 * the next round-start (which sends only the layers that changed globally), so `train`
 * restores what it touched in a `finally`, on success and on failure alike.
 */
import type { VqaSample } from '../data/types.js';
import { chunksOf, isSampleSource, type SampleSource } from '../data/sample-source.js';
import { evaluateSource } from '../train/evaluate-source.js';
import type {
  EvalResult,
  LocalCompute,
  ScoreRequest,
  TrainResult,
} from '../federated/site-client.js';
import type { RoundConfig } from '../federated/protocol.js';
import { localEvalOptions, localTrainOptions } from '../federated/local-options.js';
import { SitePersonalState, type Personalization } from '../federated/personalization.js';
import type { LayerScores } from '../importance/methods.js';
import { siteScores } from '../importance/vqa.js';
import type { VqaModel } from '../model/vqa-model.js';
import { deriveSeed } from '../random.js';
import type { NamedArrays } from '../tensors/named.js';
import { AnswerMask, restrictHeadDeltas, type MaskableSample } from '../train/answer-mask.js';
import { evaluate } from '../train/evaluate.js';
import { backendMemoryBytes } from '../train/memory-budget.js';
import { trainLayers } from '../train/train.js';

/** LNTK samples per round (n; docs/interfaces.md default): keeps the Gram n x n small. */
export const LNTK_SAMPLES = 16;
/** Training samples the local metrics of an update are measured on (cheap, numbers only). */
export const LOCAL_METRIC_SAMPLES = 64;

/** Progress of a long local step: `done` of `total`, with a short label. */
export type LocalProgress = (done: number, total: number, label?: string) => void;

/** What local training needs of a round's config (a RoundConfig plus its round fits). */
export type LocalTrainConfig = Pick<
  RoundConfig,
  'steps' | 'batchSize' | 'lr' | 'weightDecay' | 'seed'
> &
  Partial<
    Pick<RoundConfig, 'localOptimizer' | 'momentum' | 'proxMu' | 'answerMask' | 'personalization'>
  > & {
    round: number;
  };

export interface ModelComputeOptions {
  model: VqaModel;
  /** Local training split (scores, training, local metrics): an array, or a store-backed
   * source (the browser's IndexedDB) from which only the used minibatches are read. */
  train: readonly VqaSample[] | SampleSource<VqaSample>;
  /** Local held-out split (global evaluation), evaluated chunk by chunk when a source. */
  test: readonly VqaSample[] | SampleSource<VqaSample>;
  lntkSamples?: number;
  metricSamples?: number;
}

export class ModelCompute implements LocalCompute {
  readonly model: VqaModel;
  private readonly trainSet: readonly VqaSample[] | SampleSource<VqaSample>;
  private readonly testSet: readonly VqaSample[] | SampleSource<VqaSample>;
  private readonly lntkSamples: number;
  private readonly metricSamples: number;

  constructor(o: ModelComputeOptions) {
    if (o.train.length === 0) throw new Error('no local training data: import data first');
    this.model = o.model;
    this.trainSet = o.train;
    this.testSet = o.test;
    this.lntkSamples = o.lntkSamples ?? LNTK_SAMPLES;
    this.metricSamples = o.metricSamples ?? LOCAL_METRIC_SAMPLES;
  }

  numSamples(): number {
    return this.trainSet.length;
  }

  async computeScores(req: ScoreRequest, onProgress?: LocalProgress): Promise<LayerScores> {
    onProgress?.(0, 1, req.method);
    let own: LayerScores;
    if (req.method === 'none') {
      // The strategy needs no scores (full, last, random): uniform, computed for free.
      own = { layers: req.layers, scores: req.layers.map(() => 1 / req.layers.length) };
    } else {
      own = await siteScores(req.method, this.model, this.trainSet, {
        seed: deriveSeed(req.seed, req.round, req.method),
        numSamples: this.lntkSamples,
      });
    }
    onProgress?.(1, 1, `${req.method} done`);
    // By name: the coordinator's layers must all be the model's.
    const byName = new Map(own.layers.map((l, i) => [l, own.scores[i]]));
    const missing = req.layers.filter((l) => !byName.has(l));
    if (missing.length) throw new Error(`scores: the model has no layer "${missing[0]}"`);
    return { layers: [...req.layers], scores: req.layers.map((l) => byName.get(l)!) };
  }

  async train(
    layers: string[],
    config: LocalTrainConfig,
    onProgress?: LocalProgress,
  ): Promise<TrainResult> {
    const m = this.model;
    // Personalisation 'adapters': training starts from the site's own adapters (over the
    // global ones), so those are restored afterwards too.
    const personal = this.personalFor(config.personalization);
    const start = personal?.beforeTraining() ?? {};
    const before = m.getParams([
      ...new Set([...m.trainableParamNames(layers), ...Object.keys(start)]),
    ]);
    const t0 = performance.now();
    if (config.answerMask !== undefined && config.answerMask !== 'none')
      await this.loadSiteAnswers();
    try {
      m.setParams(start);
      const res = await trainLayers(m, this.trainSet, {
        layers,
        steps: config.steps,
        batchSize: config.batchSize,
        lr: config.lr,
        weightDecay: config.weightDecay,
        seed: deriveSeed(config.seed, config.round, 'train'),
        ...localTrainOptions(config),
        // 'proximal': the site's own model is pulled toward the global one (`before`).
        proxAnchor: personal?.mode === 'proximal' ? before : undefined,
        siteAnswers: config.answerMask === 'site' ? this.siteAnswers : undefined,
        onProgress: onProgress
          ? (p) => {
              // The measured step time, shown by the site page beside the progress.
              const ms = (performance.now() - t0) / p.step;
              const label = `step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)}`;
              onProgress(p.step, p.steps, `${label} · ${ms.toFixed(0)} ms/step`);
            }
          : undefined,
      });
      this.keepPersonal(config.personalization);
      // Local metrics on a slice of the training data after the update.
      const evOpts = localEvalOptions(config, () => this.siteAnswers);
      const ev = isSampleSource(this.trainSet)
        ? await evaluateSource(m, this.trainSet, { limit: this.metricSamples, ...evOpts })
        : await evaluate(m, this.trainSet.slice(0, this.metricSamples), evOpts);
      // The site's personal params never travel; under 'proximal' it sends its model minus
      // the global one (federated/personalization.ts).
      const outgoing = personal ? personal.outgoing(res.deltas, before) : res.deltas;
      // Under an answer rule the head update carries only the answers this site can train
      // (train/answer-mask.ts restrictHeadDeltas; the aggregation's per-answer unit).
      const deltas =
        config.answerMask !== undefined && config.answerMask !== 'none'
          ? restrictHeadDeltas(
              outgoing,
              new AnswerMask(m.answers, config.answerMask, {
                siteAnswers: this.siteAnswers,
              }).reachable(this.siteKinds),
            )
          : outgoing;
      return {
        deltas,
        metrics: {
          loss: res.metrics.meanLoss,
          accuracy: ev.accuracy,
          perType: ev.perType,
          stepMs: (1000 * res.metrics.seconds) / res.metrics.steps,
          memoryBytes: backendMemoryBytes(),
        },
      };
    } finally {
      m.setParams(before);
    }
  }

  /**
   * `config`: the round's; its answer rule is the prediction rule (federated/local-options.ts),
   * its `personalization` which model is evaluated: the site's own model when it has one
   * (federated/personalization.ts), else the global one; with its own model it reports the
   * global one's accuracy and loss beside (`shared`). The global weights are back in the model
   * afterwards.
   */
  async evaluate(
    config?: Pick<RoundConfig, 'answerMask' | 'personalization'>,
  ): Promise<EvalResult> {
    if (config?.answerMask === 'site') await this.loadSiteAnswers();
    const evOpts = localEvalOptions(config, () => this.siteAnswers);
    const score = () =>
      isSampleSource(this.testSet)
        ? evaluateSource(this.model, this.testSet, evOpts)
        : evaluate(this.model, this.testSet, evOpts);
    const own = this.personalFor(config?.personalization)?.forEvaluation() ?? {};
    if (Object.keys(own).length === 0) {
      const ev = await score();
      return { accuracy: ev.accuracy, loss: ev.loss, numSamples: ev.n, perType: ev.perType };
    }
    // The site's own model, and the global one beside it (reported, never hidden).
    const shared = await score();
    const global = this.model.getParams(Object.keys(own));
    this.model.setParams(own);
    try {
      const ev = await score();
      return {
        accuracy: ev.accuracy,
        loss: ev.loss,
        numSamples: ev.n,
        perType: ev.perType,
        shared: { accuracy: shared.accuracy, loss: shared.loss },
      };
    } finally {
      this.model.setParams(global);
    }
  }

  /**
   * The site's personal state (in memory: it lives as long as this compute, one session of a
   * tab or a simulated site, and never leaves the site). A change of mode starts afresh.
   */
  private personal: SitePersonalState | null = null;

  private personalFor(mode: Personalization | undefined): SitePersonalState | null {
    if (mode === undefined || mode === 'none') return null;
    if (this.personal?.mode !== mode) this.personal = new SitePersonalState(mode);
    return this.personal;
  }

  /** Right after local training: records the trained model as the site's own (when on). */
  private keepPersonal(mode: Personalization | undefined): void {
    const state = this.personalFor(mode);
    if (!state) return;
    const m = this.model;
    state.afterTraining(m.getParams(m.trainableParamNames(m.layerNames())));
  }

  /** The answers of the training split: the site's answer set (rule 'site'); stays local. */
  private siteAnswers: string[] = [];
  /** The distinct (question type, answer) pairs of the training split (the answers it trains). */
  private siteKinds: MaskableSample[] = [];
  private siteAnswersLoaded = false;

  /**
   * Reads the training split's answers once (a SampleSource is scanned chunk by chunk, so a
   * full-size import is never in memory at once); the split does not change afterwards.
   */
  private async loadSiteAnswers(): Promise<void> {
    if (this.siteAnswersLoaded) return;
    const set = new Set<string>();
    const kinds = new Map<string, MaskableSample>();
    const add = (s: VqaSample) => {
      set.add(s.answer);
      kinds.set(JSON.stringify([s.questionType, s.answer]), {
        questionType: s.questionType,
        answer: s.answer,
      });
    };
    if (isSampleSource(this.trainSet)) {
      for await (const chunk of chunksOf(this.trainSet, 512)) for (const s of chunk) add(s);
    } else for (const s of this.trainSet) add(s);
    this.siteAnswers = [...set];
    this.siteKinds = [...kinds.values()];
    this.siteAnswersLoaded = true;
  }

  setGlobal(params: NamedArrays): void {
    this.model.setParams(params);
  }
}
