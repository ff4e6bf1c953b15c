// An in-process federation lab: the same core functions the round engine and the simulated
// sites use (trainLayers, the masked sample-weighted aggregation of core/federated, the
// server optimiser, evaluate), without sockets or a coordinator, so that one configuration of
// a learning experiment runs in minutes on a CPU. bench/references.bench.ts and
// scripts/fedlab.ts build on it.
import {
  CLIENT_NAMES,
  syntheticClient,
  type ClientName,
  type VqaSample,
} from '../../packages/core/src/data/index.js';
import {
  aggregateMaskedDetailed,
  createServerOptimizer,
  createStrategy,
  SitePersonalState,
  type HeadAggregation,
  type Personalization,
  type ServerOptimizerConfig,
} from '../../packages/core/src/federated/index.js';
import {
  checkPersonalMix,
  mixLogProbabilities,
  scoreLogProbabilities,
} from '../../packages/core/src/federated/personal-mix.js';
import { computeLntk } from '../../packages/core/src/importance/index.js';
import { deriveSeed } from '../../packages/core/src/random.js';
import { loadModel, type VqaModel } from '../../packages/core/src/model/index.js';
import { HEAD_LAYER, layerOf, type NamedArrays } from '../../packages/core/src/tensors/named.js';
import type { FederationConfig } from '../../apps/coordinator/src/config.js';
import { AdamW } from '../../packages/core/src/train/adamw.js';
import {
  AnswerMask,
  evaluate,
  restrictHeadDeltas,
  trainLayers,
  type AnswerMaskRule,
  type LocalRecipe,
} from '../../packages/core/src/train/index.js';

export interface LabSite {
  /** The client's name, or `<client>#<i>` for a client that appears more than once. */
  name: ClientName;
  train: VqaSample[];
  /** Held-out samples: an independent draw of the same generator (another data seed). */
  test: VqaSample[];
}

/**
 * The sites' data. Training splits are the default synthetic clients (as `pnpm simulate` and
 * the demo use them); the held-out split of each site is the test split of a larger client
 * drawn with another data seed, so that it has at least `testSize` samples (a 2-point
 * difference is readable) without changing how much each site trains on.
 */
export function labSites(
  count: number,
  seed: number,
  opts: {
    testSize?: number;
    scale?: number;
    /**
     * The sites' clients instead of the first `count` of CLIENT_NAMES; a client may repeat
     * (each site then draws its own data: the data seed depends on the site's position).
     */
    clients?: readonly ClientName[];
  } = {},
): LabSite[] {
  const testSize = opts.testSize ?? 300;
  const names = opts.clients ?? (CLIENT_NAMES.slice(0, count) as ClientName[]);
  for (const n of names)
    if (!(CLIENT_NAMES as readonly string[]).includes(n))
      throw new Error(`labSites: unknown client "${n}" (one of ${CLIENT_NAMES.join(', ')})`);
  const repeated = (n: ClientName) => names.filter((x) => x === n).length > 1;
  return names.map((client, i) => {
    const name = (repeated(client) ? `${client}#${i}` : client) as ClientName;
    const dataSeed = seed * 1009 + i;
    const own = syntheticClient(client, { seed: dataSeed, scale: opts.scale });
    const held = syntheticClient(client, {
      seed: dataSeed + 7_919_000,
      floor: Math.ceil(testSize / 0.2),
      scale: 0,
    });
    return { name, train: own.train, test: held.test.slice(0, testSize) };
  });
}

export interface SiteEval {
  accuracy: number;
  n: number;
  perType: Record<string, { accuracy: number; n: number }>;
  /** Fraction of answers that this site never has in its training split. */
  foreign: number;
  /** With `logProbabilities`: the log answer probabilities under the rule (core `evaluate`). */
  logProbabilities?: Float32Array;
}

export interface LabEval {
  /** Sample-weighted over the sites' held-out splits (the engine's global accuracy). */
  accuracy: number;
  /** Unweighted mean over sites. */
  siteMean: number;
  perSite: Record<string, SiteEval>;
}

/** Evaluates the model on every site's held-out split (accuracy as core `evaluate` counts it). */
export async function evaluateSites(
  model: VqaModel,
  sites: readonly LabSite[],
  answerMask: AnswerMaskRule = 'none',
  opts: { logProbabilities?: boolean } = {},
): Promise<LabEval> {
  const perSite: Record<string, SiteEval> = {};
  let correct = 0;
  let n = 0;
  for (const s of sites) {
    const ev = await evaluate(model, s.test, {
      batchSize: 64,
      answerMask,
      siteAnswers: s.train.map((x) => x.answer),
      predictions: true,
      logProbabilities: opts.logProbabilities,
    });
    const pred = ev.predictions!;
    perSite[s.name] = {
      accuracy: ev.accuracy,
      n: ev.n,
      perType: ev.perType,
      foreign: foreignShare(pred, s),
      ...(ev.logProbabilities && { logProbabilities: ev.logProbabilities }),
    };
    correct += Math.round(ev.accuracy * ev.n);
    n += ev.n;
  }
  const accs = Object.values(perSite).map((e) => e.accuracy);
  return {
    accuracy: correct / n,
    siteMean: accs.reduce((a, b) => a + b, 0) / accs.length,
    perSite,
  };
}

/**
 * A site's predictions from the mixture of its own and the shared model's answer probabilities
 * (core federated/personal-mix.ts), both evaluated with `logProbabilities` on its held-out split.
 */
export function mixedSiteEval(
  own: SiteEval,
  shared: SiteEval,
  lambda: number,
  site: LabSite,
  answers: readonly string[],
): SiteEval {
  if (!own.logProbabilities || !shared.logProbabilities)
    throw new Error('mixedSiteEval: both evaluations need logProbabilities');
  const sc = scoreLogProbabilities(
    mixLogProbabilities(own.logProbabilities, shared.logProbabilities, lambda),
    answers,
    site.test,
  );
  return {
    accuracy: sc.accuracy,
    n: sc.n,
    perType: sc.perType,
    foreign: foreignShare(sc.predictions, site),
  };
}

/** The fraction of `predictions` that are answers the site never has in its training split. */
function foreignShare(predictions: readonly string[], site: LabSite): number {
  const own = new Set(site.train.map((x) => x.answer));
  return predictions.filter((a) => !own.has(a)).length / predictions.length;
}

export interface CentralRun {
  steps: number;
  batchSize: number;
  lr: number;
  local?: LocalRecipe;
  /**
   * Split the steps into this many equal runs, each with a fresh optimiser (as a federation's
   * rounds restart it; default 1: one run).
   */
  restarts?: number;
}

/** Trains all adapters + head on `train` (pooled or one site's) and evaluates on `sites`. */
export async function runCentral(
  baseBytes: Uint8Array,
  train: readonly VqaSample[],
  sites: readonly LabSite[],
  run: CentralRun,
  seed: number,
): Promise<LabEval> {
  const model = loadModel(baseBytes);
  try {
    const restarts = run.restarts ?? 1;
    if (!Number.isInteger(restarts) || restarts < 1 || run.steps % restarts !== 0)
      throw new Error(`restarts must be a whole divisor of steps (${run.steps}), got ${restarts}`);
    for (let r = 0; r < restarts; r++) {
      await trainLayers(model, train, {
        layers: model.layerNames(),
        steps: run.steps / restarts,
        batchSize: run.batchSize,
        lr: run.lr,
        seed: deriveSeed(seed, r, 'central'),
        ...run.local,
      });
    }
    return await evaluateSites(model, sites, run.local?.answerMask);
  } finally {
    model.dispose();
  }
}

export interface FederationRun {
  rounds: number;
  /** Local steps per round (each site). */
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay?: number;
  /** 'full' = every adapter; 'f3ocus' etc. = the core strategy with LNTK scores. */
  strategy?: string;
  /** Layers per site and round for the selecting strategies. */
  budget?: number;
  server?: ServerOptimizerConfig;
  local?: LocalRecipe;
  /** How the head is averaged (federated/aggregate.ts); default 'layer'. */
  headAggregation?: HeadAggregation;
  /** Rounds after which to evaluate (default: every round). */
  evalRounds?: number[];
  /**
   * Which model each site uses (core federated/personalization.ts); default 'none' (the global
   * model). When on, `eval` is every site's own model on its held-out split and `shared` the
   * global model's, from the same run.
   */
  personalization?: Personalization;
  /**
   * Each site continues one local AdamW across rounds (its moments and step count carry over)
   * instead of a fresh one per round; lab only (default false).
   */
  keepLocalOptimizer?: boolean;
  /**
   * Ditto (Li et al., ICML 2021, Algorithm 1), lab screening: besides its global training, each
   * site trains its own model (every adapter + the head) for `steps` local steps a round
   * (default: the round's `steps`), starting from its previous own model (round 1: the global
   * one) and pulled toward the round's global model by `lambda` (the proximal term, as
   * `proxMu`); each site is evaluated on its own model (`shared`: the global one). Not with
   * `personalization`.
   */
  ditto?: { lambda: number; steps?: number; keepOptimizer?: boolean };
  /**
   * Lab screening: a server step size on the aggregated delta of every layer but the head,
   * applied after the server optimiser (the head keeps its per-answer mean). FedAvg moves the
   * shared adapters by about one site's worth a round; eta > 1 moves them by eta sites' worth,
   * toward pooled training with every site's samples as often as alone's
   * (docs/federated-recipe.md, "A larger server step on the adapters").
   */
  adapterServerLr?: number;
  /**
   * FedPer (Arivazhagan et al., 2019), lab screening: each site keeps its own head across
   * rounds (training starts from it; its head update is not sent), the adapters are shared;
   * each site is evaluated on the global adapters with its own head (`shared`: the global
   * model). Not with `personalization` or `ditto`.
   */
  personalHead?: boolean;
  /**
   * Model interpolation of outputs (core federated/personal-mix.ts): with a personalisation,
   * each site predicts with λ·p_own + (1 − λ)·p_shared of its own and the global model's answer
   * probabilities; `eval` is then that mixture (`shared`: the global model). No extra training.
   */
  personalMix?: number;
  /**
   * Lab screening: after the last round, also score the mixture at each of these λ (the same
   * run, so the λ are compared on the same models); reported in `finalMixes`.
   */
  mixGrid?: number[];
  /**
   * FedAvg, then local fine-tuning, lab screening: after the last round each site trains every
   * adapter + the head for `steps` more local steps from the final global model (a fresh AdamW,
   * the run's local recipe) and is evaluated on that model (`shared`: the global one). The
   * federation's own steps count too: a site spends rounds·steps + these. Not with
   * `personalization`, `ditto` or `personalHead`.
   */
  finetuneAfter?: { steps: number };
}

export interface FederationTrace {
  rounds: {
    round: number;
    /** The model each site uses (personalised when the option is on). */
    eval: LabEval;
    /** The shared global model (only when personalised). */
    shared?: LabEval;
    selection: Record<string, string[]>;
  }[];
  final: LabEval;
  finalShared?: LabEval;
  /** With `mixGrid`: the mixture of the own and the shared model at each λ, last round. */
  finalMixes?: { lambda: number; eval: LabEval }[];
}

/** Sample-weighted and site-mean accuracy of per-site evaluations (as evaluateSites). */
function combine(perSite: Record<string, SiteEval>): LabEval {
  const all = Object.values(perSite);
  const n = all.reduce((a, e) => a + e.n, 0);
  return {
    accuracy: all.reduce((a, e) => a + Math.round(e.accuracy * e.n), 0) / n,
    siteMean: all.reduce((a, e) => a + e.accuracy, 0) / all.length,
    perSite,
  };
}

/** A federation in one process: every round, every site trains from the global weights. */
export async function runFederation(
  baseBytes: Uint8Array,
  sites: readonly LabSite[],
  run: FederationRun,
  seed: number,
): Promise<FederationTrace> {
  const model = loadModel(baseBytes);
  const layers = model.layerNames();
  const globalNames = model
    .paramNames()
    .filter((n) => layerOf(n) === 'head' || layers.includes(layerOf(n)));
  let global: NamedArrays = model.getParams(globalNames);
  const strategyName = run.strategy ?? 'full';
  const strategy = createStrategy(strategyName, { algo: 'nsga2', maxEvaluations: 4000 });
  const server = createServerOptimizer(run.server ?? { name: 'fedavg' });
  const evalAt = new Set(run.evalRounds ?? Array.from({ length: run.rounds }, (_, i) => i + 1));
  const trace: FederationTrace = { rounds: [], final: undefined as unknown as LabEval };
  const personalization = run.personalization ?? 'none';
  // Each site's personal state, as ModelCompute keeps it on a real site.
  const personal = new Map(sites.map((s) => [s.name, new SitePersonalState(personalization)]));
  if (run.keepLocalOptimizer && (run.local?.optimizer ?? 'adamw') !== 'adamw')
    throw new Error('keepLocalOptimizer: only with the adamw local optimiser');
  const ditto = run.ditto;
  if (ditto && personalization !== 'none')
    throw new Error('ditto: not together with personalization');
  if (ditto && !(ditto.lambda >= 0 && Number.isFinite(ditto.lambda)))
    throw new Error(`ditto.lambda must be a finite number >= 0, got ${ditto.lambda}`);
  // Each site's own Ditto model (every shared name) and, with keepOptimizer, its optimiser.
  const dittoModels = new Map<string, NamedArrays>();
  const dittoOptimizers = new Map(
    ditto?.keepOptimizer
      ? sites.map((s) => [s.name, new AdamW({ lr: run.lr, weightDecay: run.weightDecay ?? 0.01 })])
      : [],
  );
  if (run.personalHead && (ditto || personalization !== 'none'))
    throw new Error('personalHead: not together with personalization or ditto');
  const heads = new Map<string, NamedArrays>();
  const headNames = globalNames.filter((n) => layerOf(n) === 'head');
  const after = run.finetuneAfter;
  if (after && (personalization !== 'none' || ditto || run.personalHead))
    throw new Error('finetuneAfter: not together with personalization, ditto or personalHead');
  if (after && !(Number.isInteger(after.steps) && after.steps >= 1))
    throw new Error(`finetuneAfter.steps must be a positive integer, got ${after.steps}`);
  const personalised =
    personalization !== 'none' || ditto !== undefined || !!run.personalHead || !!after;
  const mixes = [
    ...(run.mixGrid ?? []),
    ...(run.personalMix !== undefined ? [run.personalMix] : []),
  ];
  mixes.forEach(checkPersonalMix);
  const eta = run.adapterServerLr;
  if (eta !== undefined && !(Number.isFinite(eta) && eta > 0))
    throw new Error(`adapterServerLr must be a positive number, got ${eta}`);
  if (mixes.length && personalization === 'none')
    throw new Error('personalMix / mixGrid: only with a personalization (own and shared model)');
  const optimizers = new Map(
    run.keepLocalOptimizer
      ? sites.map((s) => [s.name, new AdamW({ lr: run.lr, weightDecay: run.weightDecay ?? 0.01 })])
      : [],
  );
  try {
    for (let round = 1; round <= run.rounds; round++) {
      model.setParams(global);
      const clients = sites.map((s) => {
        let scores: { layers: string[]; scores: number[] } | undefined;
        if (strategy.scoreMethod === 'lntk') {
          const r = computeLntk(model, s.train, {
            numSamples: 16,
            seed: deriveSeed(seed, round, `${s.name}:lntk`),
          });
          scores = { layers: r.layers, scores: r.scores };
        }
        return {
          name: s.name,
          budget: run.budget ?? layers.length,
          numSamples: s.train.length,
          scores,
        };
      });
      const plan = await strategy.configureRound({ round, layers, seed, clients });
      const results = [];
      for (const s of sites) {
        model.setParams(global);
        const own = personal.get(s.name)!;
        model.setParams(own.beforeTraining());
        if (run.personalHead) model.setParams(heads.get(s.name) ?? {});
        const assigned = plan.assignments[s.name] ?? [];
        const res = await trainLayers(model, s.train, {
          layers: assigned,
          steps: run.steps,
          batchSize: run.batchSize,
          lr: run.lr,
          weightDecay: run.weightDecay ?? 0.01,
          seed: deriveSeed(seed, round, `${s.name}:train`),
          ...run.local,
          // 'proximal': the site's own model is pulled toward the global one.
          ...(personalization === 'proximal' && { proxAnchor: global }),
          continueOptimizer: optimizers.get(s.name),
        });
        own.afterTraining(model.getParams(globalNames));
        // The site's update carries only the answers its rule lets it train (as ModelCompute).
        const mask = new AnswerMask(model.answers, run.local?.answerMask ?? 'none', {
          siteAnswers: s.train.map((x) => x.answer),
        });
        let deltas = restrictHeadDeltas(own.outgoing(res.deltas, global), mask.reachable(s.train));
        if (run.personalHead) {
          heads.set(s.name, model.getParams(headNames));
          deltas = Object.fromEntries(
            Object.entries(deltas).filter(([n]) => layerOf(n) !== 'head'),
          );
        }
        results.push({ client: s.name, numSamples: s.train.length, deltas });
        if (ditto) {
          // The site's own model: from its last one, pulled toward this round's global model.
          model.setParams(global);
          model.setParams(dittoModels.get(s.name) ?? {});
          await trainLayers(model, s.train, {
            layers,
            steps: ditto.steps ?? run.steps,
            batchSize: run.batchSize,
            lr: run.lr,
            weightDecay: run.weightDecay ?? 0.01,
            seed: deriveSeed(seed, round, `${s.name}:ditto`),
            ...run.local,
            proxMu: ditto.lambda,
            proxAnchor: global,
            continueOptimizer: dittoOptimizers.get(s.name),
          });
          dittoModels.set(s.name, model.getParams(globalNames));
        }
      }
      const agg = aggregateMaskedDetailed(global, results, {
        headAggregation: run.headAggregation,
        // FedPer: no site sends the head.
        ...(run.personalHead && { requiredLayers: [] }),
      });
      const before = global;
      global = server.step(global, agg);
      if (eta !== undefined) scaleSharedStep(before, global, agg, eta);
      if (evalAt.has(round) || round === run.rounds) {
        model.setParams(global);
        const withLogP = { logProbabilities: mixes.length > 0 };
        const shared = await evaluateSites(model, sites, run.local?.answerMask, withLogP);
        /** Every site on its own model: the global one, then what `own(s)` makes of it. */
        const onOwnModels = async (
          own: (s: LabSite) => unknown,
          o: { logProbabilities?: boolean } = {},
        ) => {
          const perSite: Record<string, SiteEval> = {};
          for (const s of sites) {
            model.setParams(global);
            await own(s);
            const e = await evaluateSites(model, [s], run.local?.answerMask, o);
            perSite[s.name] = e.perSite[s.name];
          }
          return perSite;
        };
        let ev = shared;
        if (ditto || run.personalHead) {
          ev = combine(
            await onOwnModels((s) =>
              model.setParams((ditto ? dittoModels : heads).get(s.name) ?? {}),
            ),
          );
        } else if (after && round === run.rounds) {
          // Each site fine-tunes the final global model on its own data.
          ev = combine(
            await onOwnModels((s) =>
              trainLayers(model, s.train, {
                layers,
                steps: after.steps,
                batchSize: run.batchSize,
                lr: run.lr,
                weightDecay: run.weightDecay ?? 0.01,
                seed: deriveSeed(seed, run.rounds + 1, `${s.name}:finetune-after`),
                ...run.local,
              }),
            ),
          );
        } else if (personalization !== 'none') {
          // Every site on the model it would use: the global one with its personal state on top.
          const perSite = await onOwnModels(
            (s) => model.setParams(personal.get(s.name)!.forEvaluation()),
            withLogP,
          );
          const mixAt = (lambda: number) =>
            combine(
              Object.fromEntries(
                sites.map((s) => [
                  s.name,
                  mixedSiteEval(perSite[s.name], shared.perSite[s.name], lambda, s, model.answers),
                ]),
              ),
            );
          if (round === run.rounds && run.mixGrid)
            trace.finalMixes = run.mixGrid.map((lambda) => ({ lambda, eval: mixAt(lambda) }));
          ev = run.personalMix !== undefined ? mixAt(run.personalMix) : combine(perSite);
        }
        trace.rounds.push({
          round,
          eval: ev,
          shared: personalised ? shared : undefined,
          selection: plan.assignments,
        });
        if (round === run.rounds) {
          trace.final = ev;
          if (personalised) trace.finalShared = shared;
        }
      }
    }
    return trace;
  } finally {
    for (const o of optimizers.values()) o.dispose();
    for (const o of dittoOptimizers.values()) o.dispose();
    model.dispose();
  }
}

/** Majority answer of each site's training split, scored on its held-out split. */
export function majorityOf(site: LabSite): number {
  const counts = new Map<string, number>();
  for (const s of site.train) counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
  let best = '';
  let bestN = -1;
  for (const [a, k] of [...counts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (k > bestN) [best, bestN] = [a, k];
  }
  return site.test.filter((s) => s.answer === best).length / site.test.length;
}

// --- statistics -------------------------------------------------------------------------------

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

export interface Summary {
  mean: number;
  sd: number;
  /** Half-width of the 95 % t interval of the mean over seeds. */
  ci95: number;
  n: number;
}

export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const t = n > 1 ? T975[Math.min(n - 1, T975.length) - 1] : NaN;
  return { mean, sd, ci95: n > 1 ? (t * sd) / Math.sqrt(n) : NaN, n };
}

/** Half-width of the 95 % normal interval of one accuracy measured on n samples. */
export function binomialHalfWidth(p: number, n: number): number {
  return 1.96 * Math.sqrt((p * (1 - p)) / n);
}

/** The federation a coordinator config runs (local recipe and server optimiser included). */
export function federationRunOf(
  config: Pick<
    FederationConfig,
    | 'rounds'
    | 'steps'
    | 'batchSize'
    | 'lr'
    | 'weightDecay'
    | 'strategy'
    | 'defaultBudget'
    | 'localOptimizer'
    | 'momentum'
    | 'proxMu'
    | 'answerMask'
    | 'serverOptimizer'
    | 'headAggregation'
  > &
    Partial<Pick<FederationConfig, 'personalization'>>,
): FederationRun {
  return {
    rounds: config.rounds,
    steps: config.steps,
    batchSize: config.batchSize,
    lr: config.lr,
    weightDecay: config.weightDecay,
    strategy: config.strategy,
    budget: config.defaultBudget,
    server: config.serverOptimizer,
    headAggregation: config.headAggregation,
    ...(config.personalization !== undefined && { personalization: config.personalization }),
    local: {
      optimizer: config.localOptimizer,
      momentum: config.momentum,
      proxMu: config.proxMu,
      answerMask: config.answerMask,
    },
  };
}

/**
 * `adapterServerLr`: every trained layer but the head moves eta times as far from `before` as
 * the server optimiser moved it (in place on `after`); untrained layers stay where they were.
 */
function scaleSharedStep(
  before: NamedArrays,
  after: NamedArrays,
  agg: { contributors: Record<string, number> },
  eta: number,
): void {
  for (const [name, t] of Object.entries(after)) {
    const layer = layerOf(name);
    if (layer === HEAD_LAYER || !((agg.contributors[layer] ?? 0) > 0)) continue;
    const p0 = before[name].data;
    const d = t.data;
    for (let k = 0; k < d.length; k++) d[k] = p0[k] + eta * (d[k] - p0[k]);
  }
}
