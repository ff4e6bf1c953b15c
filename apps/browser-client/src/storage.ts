// The site's local store (IndexedDB via idb), used from the worker: imported samples, the
// import summary and the federation state that lets a reload rejoin. Writes are batched in one
// transaction (measured in Chromium: 200 images in 30 ms vs 180 ms one by one).
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { CLIENTS, CLIENT_NAMES } from '@focus-fl/core/data';
import type { SampleLike } from '@focus-fl/core/model';

/** Which subsets of each MedMNIST client were imported (a partial site is fine). */
export function medmnistCoverage(
  subsets: readonly string[],
): Record<string, { found: string[]; missing: string[] }> {
  const out: Record<string, { found: string[]; missing: string[] }> = {};
  for (const c of CLIENT_NAMES) {
    const all = CLIENTS[c].subsets as readonly string[];
    const found = all.filter((s) => subsets.includes(s));
    if (found.length) out[c] = { found, missing: all.filter((s) => !found.includes(s)) };
  }
  return out;
}

export type Split = 'train' | 'test';

/** A sample as stored in IndexedDB: the model's sample shape plus where it came from. */
export interface StoredSample extends SampleLike {
  id?: number;
  split: Split;
  /** File (or npz key) the sample came from, for messages and thumbnails. */
  source: string;
}

export interface DataSummary {
  /** Human description of what was imported ("synthetic chest_xray", "pathmnist.npz", …). */
  sources: string[];
  train: number;
  test: number;
  perType: Record<string, number>;
  /** MedMNIST clients with imported subsets: which were found, which are missing. */
  medmnist: Record<string, { found: string[]; missing: string[] }>;
}

interface SiteDB extends DBSchema {
  samples: {
    key: number;
    value: StoredSample;
    indexes: { split: Split; questionType: string };
  };
  meta: { key: string; value: unknown };
}

const DB_NAME = 'focus-fl-site';

let dbp: Promise<IDBPDatabase<SiteDB>> | null = null;

function db(): Promise<IDBPDatabase<SiteDB>> {
  dbp ??= openDB<SiteDB>(DB_NAME, 2, {
    upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        const s = d.createObjectStore('samples', { keyPath: 'id', autoIncrement: true });
        s.createIndex('split', 'split');
        d.createObjectStore('meta');
      }
      // v2: per-type counts from an index instead of reading every image.
      if (oldVersion < 2) tx.objectStore('samples').createIndex('questionType', 'questionType');
    },
  });
  return dbp;
}

/** Appends samples in a single transaction. */
export async function addSamples(samples: StoredSample[]): Promise<void> {
  const d = await db();
  const tx = d.transaction('samples', 'readwrite');
  for (const s of samples) void tx.store.add(s);
  await tx.done;
}

/**
 * Appends samples and records import progress in one transaction, so a cancelled or crashed
 * import resumes exactly where the last committed batch ended.
 */
export async function addSamplesWithProgress(
  samples: StoredSample[],
  progress: Record<string, number | 'done'>,
): Promise<void> {
  const d = await db();
  const tx = d.transaction(['samples', 'meta'], 'readwrite');
  const store = tx.objectStore('samples');
  for (const s of samples) void store.add(s);
  const meta = tx.objectStore('meta');
  const prev = ((await meta.get(PROGRESS)) as Record<string, number | 'done'> | undefined) ?? {};
  await meta.put({ ...prev, ...progress }, PROGRESS);
  await tx.done;
}

const PROGRESS = 'import-progress';

/** Per file (name|size|lastModified): batches committed, or 'done'. */
export async function importProgress(): Promise<Record<string, number | 'done'>> {
  return (await getMeta<Record<string, number | 'done'>>(PROGRESS)) ?? {};
}

/** Primary keys of a split, in key order (a few bytes per sample: kept in memory). */
export async function sampleKeys(split: Split): Promise<number[]> {
  return (await db()).getAllKeysFromIndex('samples', 'split', split);
}

/** The samples with these keys, in the same order, in one read transaction. */
export async function getSamplesByKeys(keys: readonly number[]): Promise<StoredSample[]> {
  const tx = (await db()).transaction('samples');
  const rows = await Promise.all(keys.map((k) => tx.store.get(k)));
  await tx.done;
  return rows.map((r, i) => {
    if (!r) throw new Error(`local store: sample ${keys[i]} is gone (data forgotten meanwhile?)`);
    return r;
  });
}

export async function getSamples(split: Split): Promise<StoredSample[]> {
  return (await db()).getAllFromIndex('samples', 'split', split);
}

export async function countSamples(split: Split): Promise<number> {
  return (await db()).countFromIndex('samples', 'split', split);
}

/** A few samples for thumbnails, without reading the whole store. */
export async function firstSamples(n: number): Promise<StoredSample[]> {
  return (await db()).getAll('samples', undefined, n);
}

export async function getMeta<T>(key: string): Promise<T | undefined> {
  return (await (await db()).get('meta', key)) as T | undefined;
}

export async function setMeta(key: string, value: unknown): Promise<void> {
  await (await db()).put('meta', value, key);
}

/** "Forget data": removes every sample and all federation state of this site. */
export async function forgetAll(): Promise<void> {
  const d = await db();
  const tx = d.transaction(['samples', 'meta'], 'readwrite');
  await Promise.all([tx.objectStore('samples').clear(), tx.objectStore('meta').clear(), tx.done]);
}

/**
 * The summary from the stored samples (the source of truth after a reload), by index counts:
 * no image is read, so it stays fast for a full MedMNIST import.
 */
export async function summarize(): Promise<DataSummary> {
  const d = await db();
  const tx = d.transaction('samples');
  const types = new Set<string>();
  let cursor = await tx.store.index('questionType').openKeyCursor(null, 'nextunique');
  while (cursor) {
    types.add(String(cursor.key));
    cursor = await cursor.continue();
  }
  const perType: Record<string, number> = {};
  for (const t of types) perType[t] = await tx.store.index('questionType').count(t);
  const train = await tx.store.index('split').count('train');
  const test = await tx.store.index('split').count('test');
  const sources = ((await d.get('meta', 'sources')) as string[] | undefined) ?? [];
  const subsets = ((await d.get('meta', 'medmnist-subsets')) as string[] | undefined) ?? [];
  return { sources, train, test, perType, medmnist: medmnistCoverage(subsets) };
}
