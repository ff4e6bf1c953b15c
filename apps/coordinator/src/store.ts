/**
 * The coordinator's durable state in SQLite (better-sqlite3, WAL): sites with hashed join
 * tokens, the federation config, rounds with their global metrics, per-site metrics,
 * selections, and a global checkpoint per completed round.
 *
 * Checkpoints are the fp32 encoding of every global param (exact), so a coordinator restarted
 * after round r continues from bit-identical weights. A round's checkpoint, selections and
 * training metrics are written in one transaction: a round is either completed or not there.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeUpdate, encodeUpdate } from '@focus-fl/core/federated';
import type { NamedArrays } from '@focus-fl/core/tensors';

export const DB_FILE = 'focus-fl.sqlite';

export interface SiteRow {
  name: string;
  budget: number;
  createdAt: number;
  lastSeen: number | null;
  backend: string | null;
}

export interface RoundRow {
  round: number;
  status: 'completed' | 'aborted';
  accuracy: number | null;
  loss: number | null;
  bytesUp: number;
  bytesDown: number;
  front: { importance: number; variance: number }[];
  selected: number | null;
  perClient: Record<string, number>;
  /**
   * Personalised federations only (core federated/personalization.ts; perClient and accuracy
   * are then the sites' own models): the global model's accuracy per site and sample-weighted.
   */
  sharedPerClient?: Record<string, number>;
  sharedAccuracy?: number;
  selection: Record<string, string[]>;
  /** Why the last aborted attempt of this round failed (null: never aborted). */
  reason: string | null;
  /** Aborted attempts of this round. */
  aborts: number;
}

export interface CompletedRound {
  round: number;
  global: NamedArrays;
  changedLayers: string[];
  selection: Record<string, string[]>;
  trainMetrics: Record<string, unknown>;
  bytesUp: number;
  bytesDown: number;
  front: { importance: number; variance: number }[];
  selected: number | null;
}

/** Registering a name that is taken (HTTP 409). */
export class SiteExistsError extends Error {
  constructor(readonly site: string) {
    super(`site "${site}" already exists`);
    this.name = 'SiteExistsError';
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Site names: 1-64 characters of A-Z a-z 0-9 _ . - (the POST /api/sites schema uses it too). */
export const SITE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class Store {
  readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, DB_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS sites (
        name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, budget INTEGER NOT NULL,
        created_at INTEGER NOT NULL, last_seen INTEGER, backend TEXT);
      CREATE TABLE IF NOT EXISTS rounds (
        round INTEGER PRIMARY KEY, status TEXT NOT NULL, ended_at INTEGER NOT NULL,
        accuracy REAL, loss REAL, bytes_up INTEGER NOT NULL DEFAULT 0,
        bytes_down INTEGER NOT NULL DEFAULT 0, front TEXT, selected INTEGER);
      CREATE TABLE IF NOT EXISTS client_metrics (
        round INTEGER NOT NULL, site TEXT NOT NULL, kind TEXT NOT NULL, metrics TEXT NOT NULL,
        PRIMARY KEY (round, site, kind));
      CREATE TABLE IF NOT EXISTS selections (
        round INTEGER NOT NULL, site TEXT NOT NULL, layers TEXT NOT NULL,
        PRIMARY KEY (round, site));
      CREATE TABLE IF NOT EXISTS checkpoints (
        version INTEGER PRIMARY KEY, changed TEXT NOT NULL, params BLOB NOT NULL);
    `);
    // Columns added after the first release: an older data dir gets them on open.
    const cols = new Set(
      (this.db.prepare('PRAGMA table_info(rounds)').all() as { name: string }[]).map((c) => c.name),
    );
    if (!cols.has('reason')) this.db.exec('ALTER TABLE rounds ADD COLUMN reason TEXT');
    if (!cols.has('aborts'))
      this.db.exec('ALTER TABLE rounds ADD COLUMN aborts INTEGER NOT NULL DEFAULT 0');
  }

  close(): void {
    this.db.close();
  }

  // --- meta / config ---------------------------------------------------------------------

  getMeta(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return r?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /** Creates the admin token on first use; returns it only when it was just created. */
  ensureAdminToken(given?: string): string | null {
    if (given) {
      this.setMeta('admin_token_hash', hashToken(given));
      return null;
    }
    if (this.getMeta('admin_token_hash')) return null;
    const token = newToken();
    this.setMeta('admin_token_hash', hashToken(token));
    return token;
  }

  checkAdminToken(token: string | undefined): boolean {
    return this.checkHashedToken('admin_token_hash', token);
  }

  /** A new read-only token for the dashboard (replaces the previous one); shown once. */
  issueViewerToken(): string {
    const token = newToken();
    this.setMeta('viewer_token_hash', hashToken(token));
    return token;
  }

  checkViewerToken(token: string | undefined): boolean {
    return this.checkHashedToken('viewer_token_hash', token);
  }

  private checkHashedToken(key: string, token: string | undefined): boolean {
    const want = this.getMeta(key);
    if (!want || !token) return false;
    const a = Buffer.from(hashToken(token), 'hex');
    const b = Buffer.from(want, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  // --- sites -----------------------------------------------------------------------------

  /** Registers a site and returns its join token (only its hash is stored). */
  addSite(name: string, budget: number): string {
    if (!SITE_NAME.test(name)) {
      throw new Error(`site name "${name}" must be 1-64 characters of A-Z a-z 0-9 _ . -`);
    }
    if (!Number.isInteger(budget) || budget < 0) {
      throw new Error(`budget must be a non-negative integer, got ${budget}`);
    }
    if (this.getSite(name)) throw new SiteExistsError(name);
    const token = newToken();
    this.db
      .prepare('INSERT INTO sites (name, token_hash, budget, created_at) VALUES (?, ?, ?, ?)')
      .run(name, hashToken(token), budget, Date.now());
    return token;
  }

  getSite(name: string): SiteRow | null {
    const r = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as
      Record<string, unknown> | undefined;
    return r ? toSite(r) : null;
  }

  siteByToken(token: string): SiteRow | null {
    const r = this.db.prepare('SELECT * FROM sites WHERE token_hash = ?').get(hashToken(token)) as
      Record<string, unknown> | undefined;
    return r ? toSite(r) : null;
  }

  listSites(): SiteRow[] {
    return (this.db.prepare('SELECT * FROM sites ORDER BY created_at, name').all() as never[]).map(
      toSite,
    );
  }

  touchSite(name: string, backend: string): void {
    this.db
      .prepare('UPDATE sites SET last_seen = ?, backend = ? WHERE name = ?')
      .run(Date.now(), backend, name);
  }

  // --- checkpoints and rounds -------------------------------------------------------------

  saveInitialGlobal(global: NamedArrays): void {
    this.db
      .prepare('INSERT OR IGNORE INTO checkpoints (version, changed, params) VALUES (0, ?, ?)')
      .run('[]', Buffer.from(encodeUpdate(global, 'fp32')));
  }

  /** The newest checkpoint: version = last completed round (0 = initial weights). */
  latestCheckpoint(): { version: number; global: NamedArrays; changedLayers: string[] } | null {
    const r = this.db
      .prepare('SELECT version, changed, params FROM checkpoints ORDER BY version DESC LIMIT 1')
      .get() as { version: number; changed: string; params: Buffer } | undefined;
    if (!r) return null;
    return {
      version: r.version,
      global: decodeUpdate(new Uint8Array(r.params)),
      changedLayers: JSON.parse(r.changed) as string[],
    };
  }

  checkpoint(version: number): NamedArrays | null {
    const r = this.db.prepare('SELECT params FROM checkpoints WHERE version = ?').get(version) as
      { params: Buffer } | undefined;
    return r ? decodeUpdate(new Uint8Array(r.params)) : null;
  }

  /** Atomically records a completed round: checkpoint, selections, training metrics. */
  completeRound(c: CompletedRound): void {
    const tx = this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO checkpoints (version, changed, params) VALUES (?, ?, ?)')
        .run(c.round, JSON.stringify(c.changedLayers), Buffer.from(encodeUpdate(c.global, 'fp32')));
      this.db
        .prepare(
          `INSERT INTO rounds (round, status, ended_at, bytes_up, bytes_down, front, selected)
           VALUES (?, 'completed', ?, ?, ?, ?, ?)
           ON CONFLICT(round) DO UPDATE SET status = 'completed', ended_at = excluded.ended_at,
             bytes_up = excluded.bytes_up, bytes_down = excluded.bytes_down,
             front = excluded.front, selected = excluded.selected`,
        )
        .run(c.round, Date.now(), c.bytesUp, c.bytesDown, JSON.stringify(c.front), c.selected);
      const sel = this.db.prepare('INSERT INTO selections (round, site, layers) VALUES (?, ?, ?)');
      for (const [site, layers] of Object.entries(c.selection)) {
        sel.run(c.round, site, JSON.stringify(layers));
      }
      const met = this.db.prepare(
        `INSERT OR REPLACE INTO client_metrics (round, site, kind, metrics) VALUES (?, ?, 'train', ?)`,
      );
      for (const [site, m] of Object.entries(c.trainMetrics))
        met.run(c.round, site, JSON.stringify(m));
    });
    tx();
  }

  /**
   * An aborted attempt of round `round` (not yet completed): stored with its reason and
   * counted; a later completion of the same round keeps the count.
   */
  abortRound(round: number, reason: string, bytes: { up: number; down: number }): void {
    this.db
      .prepare(
        `INSERT INTO rounds (round, status, ended_at, bytes_up, bytes_down, reason, aborts)
         VALUES (?, 'aborted', ?, ?, ?, ?, 1)
         ON CONFLICT(round) DO UPDATE SET ended_at = excluded.ended_at, reason = excluded.reason,
           aborts = rounds.aborts + 1,
           bytes_up = rounds.bytes_up + excluded.bytes_up,
           bytes_down = rounds.bytes_down + excluded.bytes_down
         WHERE rounds.status = 'aborted'`,
      )
      .run(round, Date.now(), bytes.up, bytes.down, reason);
  }

  /** Global evaluation of round `round` (0 = base model) plus per-site reports. */
  saveEvaluation(
    round: number,
    accuracy: number | null,
    loss: number | null,
    perSite: Record<string, unknown>,
    bytes?: { up: number; down: number },
  ): void {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO rounds (round, status, ended_at, accuracy, loss, bytes_up, bytes_down)
           VALUES (?, 'completed', ?, ?, ?, ?, ?)
           ON CONFLICT(round) DO UPDATE SET accuracy = excluded.accuracy, loss = excluded.loss,
             bytes_up = rounds.bytes_up + excluded.bytes_up,
             bytes_down = rounds.bytes_down + excluded.bytes_down`,
        )
        .run(round, Date.now(), accuracy, loss, bytes?.up ?? 0, bytes?.down ?? 0);
      const met = this.db.prepare(
        `INSERT OR REPLACE INTO client_metrics (round, site, kind, metrics) VALUES (?, ?, 'eval', ?)`,
      );
      for (const [site, m] of Object.entries(perSite)) met.run(round, site, JSON.stringify(m));
    });
    tx();
  }

  selections(round: number): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const rows = this.db
      .prepare('SELECT site, layers FROM selections WHERE round = ? ORDER BY site')
      .all(round) as { site: string; layers: string }[];
    for (const r of rows) out[r.site] = JSON.parse(r.layers) as string[];
    return out;
  }

  clientMetrics(round: number, kind: 'train' | 'eval'): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    const rows = this.db
      .prepare('SELECT site, metrics FROM client_metrics WHERE round = ? AND kind = ?')
      .all(round, kind) as { site: string; metrics: string }[];
    for (const r of rows) out[r.site] = JSON.parse(r.metrics) as Record<string, unknown>;
    return out;
  }

  /** Every stored round (0 = base evaluation), oldest first. */
  rounds(): RoundRow[] {
    const rows = this.db.prepare('SELECT * FROM rounds ORDER BY round').all() as Record<
      string,
      unknown
    >[];
    return rows.map((r) => {
      const round = r.round as number;
      const perClient: Record<string, number> = {};
      const evals = this.clientMetrics(round, 'eval');
      for (const [site, m] of Object.entries(evals)) {
        if (typeof m.accuracy === 'number') perClient[site] = m.accuracy;
      }
      return {
        ...sharedOf(evals),
        round,
        status: r.status as 'completed' | 'aborted',
        accuracy: (r.accuracy as number | null) ?? null,
        loss: (r.loss as number | null) ?? null,
        bytesUp: r.bytes_up as number,
        bytesDown: r.bytes_down as number,
        front: r.front ? (JSON.parse(r.front as string) as RoundRow['front']) : [],
        selected: (r.selected as number | null) ?? null,
        perClient,
        selection: this.selections(round),
        reason: (r.reason as string | null) ?? null,
        aborts: (r.aborts as number | null) ?? 0,
      };
    });
  }
}

/** The global model's accuracy beside a personalised evaluation (absent when none reported). */
function sharedOf(
  evals: Record<string, Record<string, unknown>>,
): Pick<RoundRow, 'sharedPerClient' | 'sharedAccuracy'> {
  const perSite: Record<string, number> = {};
  let correct = 0;
  let n = 0;
  for (const [site, m] of Object.entries(evals)) {
    const shared = m.shared as { accuracy?: unknown } | undefined;
    if (typeof shared?.accuracy !== 'number' || typeof m.numSamples !== 'number') continue;
    perSite[site] = shared.accuracy;
    correct += shared.accuracy * m.numSamples;
    n += m.numSamples;
  }
  return n > 0 ? { sharedPerClient: perSite, sharedAccuracy: correct / n } : {};
}

function toSite(r: Record<string, unknown>): SiteRow {
  return {
    name: r.name as string,
    budget: r.budget as number,
    createdAt: r.created_at as number,
    lastSeen: (r.last_seen as number | null) ?? null,
    backend: (r.backend as string | null) ?? null,
  };
}
