/**
 * The dashboard JSON (docs/interfaces.md, "Coordinator HTTP") as a TypeBox schema: the response
 * schema of GET /api/state, the message of ws /api/live, and, through `Static`, the types the
 * dashboard page imports. No Node imports here, so the page's build can read it.
 */
import Type, { type Static } from 'typebox';

const closed = { additionalProperties: false } as const;
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const ENGINE_PHASES = [
  'waiting',
  'evaluate',
  'scores',
  'solve',
  'train',
  'aggregate',
  'paused',
  'done',
  'stopped',
] as const;
export type EnginePhase = (typeof ENGINE_PHASES)[number];

export const SiteStateSchema = Type.Object(
  {
    name: Type.String(),
    status: Type.String(),
    backend: Nullable(Type.String()),
    budget: Type.Integer(),
    connected: Type.Boolean(),
    /** From the site's last update: mean local step time and backend memory (null: none yet). */
    stepMs: Nullable(Type.Number()),
    memoryBytes: Nullable(Type.Number()),
  },
  closed,
);
export type SiteState = Static<typeof SiteStateSchema>;

export const FrontPointSchema = Type.Object(
  { importance: Type.Number(), variance: Type.Number() },
  closed,
);
export type FrontPoint = Static<typeof FrontPointSchema>;

export const RoundSummarySchema = Type.Object(
  {
    round: Type.Integer(),
    status: Type.Union([Type.Literal('completed'), Type.Literal('aborted')]),
    accuracy: Nullable(Type.Number()),
    loss: Nullable(Type.Number()),
    perClient: Type.Record(Type.String(), Type.Number()),
    bytesUp: Type.Integer(),
    bytesDown: Type.Integer(),
    selection: Type.Record(Type.String(), Type.Array(Type.String())),
    front: Type.Array(FrontPointSchema),
    selected: Nullable(Type.Integer()),
    /** Why the last aborted attempt of this round failed (null: never aborted). */
    reason: Nullable(Type.String()),
    aborts: Type.Integer(),
  },
  closed,
);
export type RoundSummary = Static<typeof RoundSummarySchema>;

export const DashboardStateSchema = Type.Object(
  {
    layers: Type.Array(Type.String()),
    round: Type.Integer(),
    phase: Type.Unsafe<EnginePhase>(Type.Enum([...ENGINE_PHASES])),
    totalRounds: Type.Integer(),
    strategy: Type.String(),
    /** Set while the federation is paused after too many aborted rounds in a row. */
    pausedReason: Nullable(Type.String()),
    sites: Type.Array(SiteStateSchema),
    rounds: Type.Array(RoundSummarySchema),
  },
  closed,
);
export type DashboardState = Static<typeof DashboardStateSchema>;
