/**
 * An experiment spec (experiments/<name>.json): a grid of settings x strategies (x algo for
 * f3ocus) x seeds, plus the federation parameters every run shares. Validated with TypeBox
 * (the coordinator's schema library) so that a bad spec names the field and why.
 */
import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { CLIENT_NAMES } from '@focus-fl/core/data';
import { ACCEPTED_STRATEGY_NAMES, CODECS } from '@focus-fl/core/federated';
import { PEFT_KINDS, type PeftKind } from '@focus-fl/core/model';
import { ALGORITHMS } from '@focus-fl/solvers';

const Enum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>(Type.Enum([...values]));
const Unit = Type.Number({ minimum: 0, maximum: 1 });

/** The first N synthetic clients, or named ones (each client is its own modality). */
const ClientsSetting = Type.Object(
  { kind: Type.Literal('clients'), clients: Type.Array(Enum(CLIENT_NAMES), { minItems: 1 }) },
  { additionalProperties: false },
);

/** One site of a domain-gap setting: the generator's nuisances and an image-style shift. */
const DomainSite = Type.Object(
  {
    /** Pixel noise and pose jitter of the synthetic generator, in [0, 1]. */
    noise: Type.Optional(Unit),
    /** Class overlap and parameter jitter, in [0, 1]. */
    overlap: Type.Optional(Unit),
    /** Intensity style: v' = ((contrast (v - 0.5) + 0.5 + brightness) clamped)^gamma. */
    contrast: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 4 })),
    brightness: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
    gamma: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 5 })),
    /** Per-channel gain for RGB images (colour cast), e.g. [1.1, 0.9, 1]. */
    tint: Type.Optional(
      Type.Array(Type.Number({ minimum: 0, maximum: 3 }), { minItems: 3, maxItems: 3 }),
    ),
  },
  { additionalProperties: false },
);

/** The same client (task) at every site, each with its own image style and noise (T1-like). */
const DomainGapSetting = Type.Object(
  {
    kind: Type.Literal('domain-gap'),
    client: Enum(CLIENT_NAMES),
    /** Samples per site (train + test, split 80/20). */
    samples: Type.Integer({ minimum: 10 }),
    sites: Type.Array(DomainSite, { minItems: 2 }),
  },
  { additionalProperties: false },
);

/** One client's pooled samples dealt to `sites` sites by a Dirichlet(alpha) label split (T4-like). */
const LabelSkewSetting = Type.Object(
  {
    kind: Type.Literal('label-skew'),
    client: Enum(CLIENT_NAMES),
    samples: Type.Integer({ minimum: 10 }),
    sites: Type.Integer({ minimum: 2, maximum: 64 }),
    alpha: Type.Number({ exclusiveMinimum: 0 }),
  },
  { additionalProperties: false },
);

export const SettingSchema = Type.Union([ClientsSetting, DomainGapSetting, LabelSkewSetting]);
export type Setting = Static<typeof SettingSchema>;
export type DomainSiteStyle = Static<typeof DomainSite>;

/** A strategy entry: a registry name, or a labelled variant (a PEFT family for Table 2). */
const StrategyEntry = Type.Union([
  Enum(ACCEPTED_STRATEGY_NAMES),
  Type.Object(
    {
      /** Name in results.jsonl and the report (e.g. "lora"). */
      label: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,40}$' }),
      strategy: Enum(ACCEPTED_STRATEGY_NAMES),
      /** Trainable units of the model (packages/core/src/model/README.md): adapters (default),
       * LoRA on query/value, or the base's LayerNorm, bias or all block tensors. */
      peft: Type.Optional(Enum(PEFT_KINDS)),
    },
    { additionalProperties: false },
  ),
]);

export const SpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    /** Model preset of the coordinator config (the committed pretrained base for tiny). */
    preset: Type.String({ minLength: 1 }),
    rounds: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** Local training steps per round. */
    steps: Type.Integer({ minimum: 1 }),
    batchSize: Type.Optional(Type.Integer({ minimum: 1 })),
    lr: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    codec: Type.Optional(Enum(CODECS)),
    /** L_i,max for every site, and per-site overrides. */
    budget: Type.Integer({ minimum: 1 }),
    budgets: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }))),
    /** Synthetic client sizes for "clients" settings: max(floor, paperCount x scale). */
    scale: Type.Optional(Type.Number({ minimum: 0 })),
    floor: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Cap on held-out samples evaluated per site and round. */
    maxTest: Type.Optional(Type.Integer({ minimum: 1 })),
    /** F3OCUS solver time per round (the coordinator's budget: f3ocus runs are therefore not
     * bit-reproducible, unlike the other strategies). */
    solverMaxMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Threads running a run's sites (the simulator's --parallel; default one per core). */
    parallel: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** A run that takes longer fails (e.g. a strategy whose rounds keep aborting). */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
    seeds: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
    settings: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,40}$' }), SettingSchema),
    strategies: Type.Array(StrategyEntry, { minItems: 1 }),
    /** Meta-heuristics for the f3ocus entries (default nsga2). */
    algos: Type.Optional(Type.Array(Enum(ALGORITHMS), { minItems: 1 })),
    /** More seeds for a headline comparison: these strategy labels (f3ocus with the first
     * algo only) also run with these seeds, in every setting. */
    headline: Type.Optional(
      Type.Object(
        {
          strategies: Type.Array(Type.String(), { minItems: 1 }),
          seeds: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Spec = Static<typeof SpecSchema>;

export const DEFAULT_TIMEOUT_MS = 20 * 60_000;

const check = Compile(SpecSchema);

/** Validates a parsed spec; the error lists the first problems with their JSON paths. */
export function validateSpec(value: unknown, source = 'spec'): Spec {
  if (!check.Check(value)) {
    const errors = [...check.Errors(value)].slice(0, 5);
    throw new Error(
      `invalid ${source}: ${errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`,
    );
  }
  const spec = value as Spec;
  if (Object.keys(spec.settings).length === 0)
    throw new Error(`invalid ${source}: /settings is empty`);
  const labels = spec.strategies.map(labelOf);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new Error(`invalid ${source}: /strategies lists "${dup}" twice`);
  if (new Set(spec.seeds).size !== spec.seeds.length)
    throw new Error(`invalid ${source}: /seeds has duplicates`);
  if (spec.headline) {
    for (const l of spec.headline.strategies)
      if (!labels.includes(l))
        throw new Error(`invalid ${source}: /headline/strategies: "${l}" is not in /strategies`);
    const again = spec.headline.seeds.find((x) => spec.seeds.includes(x));
    if (again !== undefined)
      throw new Error(`invalid ${source}: /headline/seeds: seed ${again} is already in /seeds`);
  }
  return spec;
}

export function loadSpec(path: string): Spec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read spec ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`spec ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return validateSpec(json, `spec ${path}`);
}

type StrategyEntryT = Spec['strategies'][number];

export function labelOf(e: StrategyEntryT): string {
  return typeof e === 'string' ? e : e.label;
}

/** One federation of the grid: everything a worker needs, JSON-safe (it travels as a job). */
export interface RunTask {
  key: string;
  setting: string;
  settingDef: Setting;
  /** The label in results.jsonl (the registry name unless the spec labels a variant). */
  strategy: string;
  registryStrategy: string;
  peft: PeftKind;
  algo: string | null;
  seed: number;
  params: Omit<
    Spec,
    'name' | 'description' | 'seeds' | 'settings' | 'strategies' | 'algos' | 'headline'
  >;
}

export function runKey(r: {
  setting: string;
  strategy: string;
  algo: string | null;
  seed: number;
}): string {
  return `${r.setting}/${r.strategy}/${r.algo ?? '-'}/${r.seed}`;
}

/** Every run of the grid, in spec order: settings, strategies (x algos), seeds, each
 * headline strategy followed by its extra seeds. */
export function expandRuns(spec: Spec): RunTask[] {
  const {
    name: _n,
    description: _d,
    seeds,
    settings,
    strategies,
    algos,
    headline,
    ...params
  } = spec;
  const out: RunTask[] = [];
  for (const [setting, settingDef] of Object.entries(settings)) {
    const add = (entry: StrategyEntryT, runAlgos: (string | null)[], runSeeds: number[]) => {
      const registryStrategy = typeof entry === 'string' ? entry : entry.strategy;
      const peft = typeof entry === 'string' ? 'adapter' : (entry.peft ?? 'adapter');
      for (const algo of runAlgos) {
        for (const seed of runSeeds) {
          const r = { setting, strategy: labelOf(entry), algo, seed };
          out.push({ ...r, key: runKey(r), settingDef, registryStrategy, peft, params });
        }
      }
    };
    const algosOf = (entry: StrategyEntryT) =>
      (typeof entry === 'string' ? entry : entry.strategy) === 'f3ocus'
        ? (algos ?? ['nsga2'])
        : [null];
    for (const entry of strategies) {
      add(entry, algosOf(entry), seeds);
      // Right after the entry's own runs, so that a sweep cut short still has the headline.
      if (headline?.strategies.includes(labelOf(entry)))
        add(entry, algosOf(entry).slice(0, 1), headline.seeds);
    }
  }
  return out;
}
