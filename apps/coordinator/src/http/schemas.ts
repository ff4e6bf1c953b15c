/** TypeBox schemas of the coordinator's HTTP requests and responses (one place). */
import Type, { type Static } from 'typebox';
import { SITE_NAME } from '../store.js';

const closed = { additionalProperties: false } as const;

export const ErrorBody = Type.Object({ error: Type.String() });

export const Health = Type.Object(
  { ok: Type.Boolean(), round: Type.Integer(), phase: Type.String() },
  closed,
);

export const SiteBody = Type.Object(
  {
    name: Type.String({ pattern: SITE_NAME.source }),
    budget: Type.Integer({ minimum: 0 }),
  },
  closed,
);
export type SiteBody = Static<typeof SiteBody>;

export const SiteCreated = Type.Object(
  { name: Type.String(), budget: Type.Integer(), token: Type.String() },
  closed,
);

export const SessionBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256 }) },
  closed,
);
export type SessionBody = Static<typeof SessionBody>;

export const SessionInfo = Type.Object(
  { role: Type.Union([Type.Literal('admin'), Type.Literal('viewer')]) },
  closed,
);

export const Resumed = Type.Object({ phase: Type.String() }, closed);
