/**
 * Federation config: what the coordinator runs. From a JSON file (`--config FILE`) and/or CLI
 * flags, validated with TypeBox so a bad value names its field.
 */
import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  ACCEPTED_STRATEGY_NAMES,
  ANSWER_MASKS,
  CODECS,
  HEAD_AGGREGATIONS,
  LOCAL_OPTIMIZERS,
  SERVER_OPTIMIZERS,
  PERSONALIZATIONS,
} from '@focus-fl/core/federated';
import { ALGORITHMS } from '@focus-fl/solvers';

const Enum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>(Type.Enum([...values]));

export const FederationConfigSchema = Type.Object(
  {
    /** Model preset (PRESETS key) used when no checkpoint is given. */
    preset: Type.String({ default: 'tiny' }),
    /** Optional base checkpoint file (safetensors) to serve instead of creating the preset. */
    checkpoint: Type.Optional(Type.String()),
    modelSeed: Type.Integer({ default: 0 }),
    /** A registry strategy name (or an accepted alias such as `fd`). */
    strategy: Enum(ACCEPTED_STRATEGY_NAMES),
    algo: Enum(ALGORITHMS),
    /** Pareto-front picking rule passed to the solver (its default when absent). */
    pick: Type.Optional(Type.String()),
    rounds: Type.Integer({ minimum: 1 }),
    steps: Type.Integer({ minimum: 1 }),
    batchSize: Type.Integer({ minimum: 1 }),
    lr: Type.Number({ exclusiveMinimum: 0 }),
    weightDecay: Type.Number({ minimum: 0 }),
    /** Local optimiser (docs/federated-recipe.md): 'sgdm' (SGD + momentum) or 'adamw'. */
    localOptimizer: Enum(LOCAL_OPTIMIZERS),
    /** Momentum of the local 'sgdm' optimiser. */
    momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
    /** FedProx proximal weight μ (0 = off). */
    proxMu: Type.Number({ minimum: 0 }),
    /** Softmax over the answers of the question's type, in training and evaluation. */
    answerMask: Enum(ANSWER_MASKS),
    /**
     * Server optimiser on the aggregated per-layer delta (Reddi et al., ICLR 2021): name, and
     * its learning rate / betas / τ (defaults per optimiser in core server-optimizer.ts).
     */
    serverOptimizer: Type.Object(
      {
        name: Enum(SERVER_OPTIMIZERS),
        lr: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        beta1: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
        beta2: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
        tau: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      },
      { additionalProperties: false },
    ),
    /**
     * The head's unit of averaging (core federated/aggregate.ts): 'layer' (every site that sent
     * it) or 'answer' (each answer over the sites that trained it; docs/federated-recipe.md).
     */
    headAggregation: Enum(HEAD_AGGREGATIONS),
    /**
     * The model each site uses and evaluates (core federated/personalization.ts): 'none' (the
     * global model), 'finetune' (its own model of its last local training; nothing changes on
     * the wire), 'adapters' (its own adapters kept across rounds, the head shared: updates
     * carry the head only) or 'proximal' (its own whole model kept across rounds and pulled
     * toward the global one by `proxMu`; updates carry its model minus the global one).
     * Absent = 'none'.
     */
    personalization: Type.Optional(Enum(PERSONALIZATIONS)),
    codec: Enum(CODECS),
    /** Budget for sites registered without one (layers per round). */
    defaultBudget: Type.Integer({ minimum: 1 }),
    /** Per-site budget overrides L_i,max (docs/method.md §2). */
    budgets: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    minClients: Type.Integer({ minimum: 1 }),
    /** Fraction of the round's cohort that must answer a phase for the round to count. */
    minCompletionRate: Type.Number({ minimum: 0, maximum: 1 }),
    /** Per-phase deadlines in ms. */
    deadlines: Type.Object(
      {
        scores: Type.Integer({ minimum: 1 }),
        train: Type.Integer({ minimum: 1 }),
        evaluate: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    /**
     * Wall-time safety cap of the solver per round (ms). The search itself is bounded by
     * `solverMaxEvaluations` and an early stop, so a seed gives the same selection on any
     * machine; only a solve that reaches this cap depends on the machine's speed.
     */
    solverMaxMs: Type.Integer({ minimum: 1 }),
    /**
     * Evaluation budget of the solver per round (default 20,000, the solvers' own default);
     * the search stops earlier once its Pareto archive stops improving (planner.ts).
     */
    solverMaxEvaluations: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Wait after quorum so that sites connecting together join the same round (ms). */
    quorumGraceMs: Type.Integer({ minimum: 0 }),
    /** Wait before retrying an aborted round (ms); doubles with every abort in a row. */
    abortBackoffMs: Type.Integer({ minimum: 0 }),
    /** Aborted attempts in a row after which the federation pauses with a reason. */
    maxConsecutiveAborts: Type.Integer({ minimum: 1 }),
    seed: Type.Integer(),
  },
  { additionalProperties: false },
);
export type FederationConfig = Static<typeof FederationConfigSchema>;

export const DEFAULT_CONFIG: FederationConfig = {
  preset: 'tiny',
  modelSeed: 0,
  strategy: 'f3ocus',
  algo: 'nsga2',
  rounds: 5,
  // Local training per round. Measured with `pnpm simulate --clients 4 --rounds 5 --seed 0`
  // (bench/strategies.bench.ts): 10 steps x 8 at lr 1e-3 never left the "predict 'no'"
  // plateau (19.5% after every round); 30 x 16 at 3e-3 climbs to ~32% by round 5; lr 1e-2
  // was faster in round 2 but oscillated between rounds (head drift across label-skewed sites).
  steps: 30,
  batchSize: 16,
  lr: 3e-3,
  weightDecay: 0.01,
  // The federated recipe (docs/federated-recipe.md, bench/references.bench.ts): the answer
  // rule 'site' (FedRS's restricted softmax with the matching prediction rule) is what closes
  // the gap to pooled training; under it AdamW + plain FedAvg (64.6 %, seed 0) beat SGD +
  // momentum with FedAdam (59.4 %), so the local optimiser and the server step stay as they were.
  localOptimizer: 'adamw',
  momentum: 0.9,
  proxMu: 0,
  answerMask: 'site',
  serverOptimizer: { name: 'fedavg' },
  // Under the 'site' rule a site trains only its own answers' head columns; averaging the head
  // over every site divided a site-specific answer's step by the number of sites. Averaging each
  // answer over the sites that trained it (docs/federated-recipe.md) gained on every seed: +2.1
  // points at 9 sites (66.3 -> 68.4 %), +1.7 at 4 (68.6 -> 70.3 %), 3 seeds, paired.
  headAggregation: 'answer',
  // Every site uses the shared global model. Personalisation (docs/federated-recipe.md,
  // "Personalisation") brings a site closer to training alone under the same rule but not past
  // it (base at b3e2a57, generator 0a2b967, 3 seeds, paired: 'adapters' -1.3 +- 5.5 / -1.0 +-
  // 2.2 points at 4 / 9 sites; 'proximal', the other screened variants and predicting from the
  // mixture of the own and the shared model's answer probabilities no better); 'finetune' adds
  // +1.4 / +4.1 points to the global model at no cost. None is the default: the federation's product is the
  // shared model (F3OCUS selects layers for it), which 'adapters' leaves at the base adapters.
  personalization: 'none',
  codec: 'fp16',
  defaultBudget: 2,
  budgets: {},
  minClients: 2,
  minCompletionRate: 0.5,
  deadlines: { scores: 120_000, train: 600_000, evaluate: 120_000 },
  solverMaxMs: 2_000,
  solverMaxEvaluations: 20_000,
  quorumGraceMs: 500,
  abortBackoffMs: 1_000,
  maxConsecutiveAborts: 5,
  seed: 0,
};

/** A site's layer budget L_i,max: the config's override, else the one it was registered with. */
export function siteBudget(
  config: Pick<FederationConfig, 'budgets'>,
  site: { name: string; budget: number },
): number {
  return config.budgets[site.name] ?? site.budget;
}

const check = Compile(FederationConfigSchema);

/** Merge partial configs over the defaults and validate; errors name the field. */
export function resolveConfig(...parts: Partial<FederationConfig>[]): FederationConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (v === undefined) continue;
      if ((k === 'deadlines' || k === 'serverOptimizer') && v && typeof v === 'object') {
        // A different optimiser name starts from its own defaults, not the old one's fields.
        const old = merged[k] as Record<string, unknown>;
        const sameName = k !== 'serverOptimizer' || !('name' in v) || v.name === old.name;
        merged[k] = sameName ? { ...old, ...v } : { ...v };
      } else merged[k] = v;
    }
  }
  if (!check.Check(merged)) {
    const e = [...check.Errors(merged)].slice(0, 3);
    throw new Error(
      `invalid federation config: ${e.map((x) => `${x.instancePath || '/'} ${x.message}`).join('; ')}`,
    );
  }
  return merged as FederationConfig;
}

export function loadConfigFile(path: string): Partial<FederationConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Partial<FederationConfig>;
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
