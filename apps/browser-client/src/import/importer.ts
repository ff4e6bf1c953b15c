// Turns whatever the user picked (files, a folder, zips) into stored VQA samples. Each bad
// file gets one message naming it and is skipped; everything else still imports.
// Full-size imports stream: MedMNIST files are turned into samples one chunk at a time, each
// chunk committed with its progress in one transaction, so an import can be cancelled and
// resumed (import the same files again) and never holds all samples in memory. Storage quota
// is checked before writing (navigator.storage.estimate) with a message saying how much is
// needed and free.
import { unzipSync } from 'fflate';
import { mulberry32 } from '@focus-fl/core/random';
import { SUBSETS } from '@focus-fl/core/data';
import {
  addSamplesWithProgress,
  getMeta,
  importProgress,
  setMeta,
  summarize,
  type StoredSample,
} from '../storage.js';
import type { ImportError, ImportReport, Progress } from '../api.js';
import { decodeDicom, looksLikeDicom, type DecodedImage } from './dicom.js';
import type { FrameDecoders } from './dicom-codecs.js';
import { decodeImage } from './images.js';
import { STORE_SIZE } from './pixels.js';
import { makeImageResolver, parseQuestions, type QuestionEntry } from './questions.js';
import { readNpz } from './npz.js';
import { inVocabulary } from './vocab.js';

export interface ImportOptions {
  /** Decoders of compressed DICOM frames (the worker's shared instance). */
  decoders: FrameDecoders;
  /** Side MedMNIST images are stored at: the model's input (never upsampled). */
  targetSize: number;
  /** Polled between batches; true stops the import after the current batch is committed. */
  cancelled?: () => boolean;
  /** Storage estimate (navigator.storage.estimate in the page); absent: not checked. */
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

/** A file after zip expansion: its relative path, identity for resuming, and a reader. */
interface Entry {
  path: string;
  /** fileKey of the picked file (+ member path inside a zip). */
  key: string;
  read(): Promise<Uint8Array>;
}

const IMAGE = /\.(png|jpe?g)$/i;
const QUESTIONS = /\.(json|csv)$/i;
const BATCH = 256;
/** IndexedDB cost of one stored sample beyond its pixels (question text, keys, indexes). */
const RECORD_OVERHEAD = 400;

const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;

function hashPath(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** 80/20 split (docs/method.md §5) decided per image, so all questions on one image share a split. */
function splitOf(key: string): 'train' | 'test' {
  return mulberry32(hashPath(key))() < 0.8 ? 'train' : 'test';
}

/**
 * Identity of a picked file for resuming: path, size and a hash of its first and last 64 KiB
 * (re-picking the same file matches even when the browser reports a new lastModified).
 */
async function fileKey(path: string, f: Blob): Promise<string> {
  const edge = 64 * 1024;
  const head = new Uint8Array(await f.slice(0, edge).arrayBuffer());
  const tail = new Uint8Array(await f.slice(Math.max(0, f.size - edge)).arrayBuffer());
  let h = 2166136261;
  for (const part of [head, tail]) for (const b of part) h = Math.imul(h ^ b, 16777619);
  return `${path}|${f.size}|${(h >>> 0).toString(16)}`;
}

function expand(files: File[], errors: ImportError[]): Promise<Entry[]> {
  return Promise.all(
    files.map(async (f): Promise<Entry[]> => {
      const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
      const key = await fileKey(path, f);
      if (!/\.zip$/i.test(f.name)) {
        return [{ path, key, read: async () => new Uint8Array(await f.arrayBuffer()) }];
      }
      try {
        const entries = unzipSync(new Uint8Array(await f.arrayBuffer()));
        return Object.entries(entries)
          .filter(([p, b]) => !p.endsWith('/') && !p.startsWith('__MACOSX/') && b.length > 0)
          .map(([p, b]) => ({ path: `${f.name}/${p}`, key: `${key}/${p}`, read: async () => b }));
      } catch (e) {
        errors.push({
          file: path,
          message: `${path}: not a readable zip archive (${(e as Error).message})`,
        });
        return [];
      }
    }),
  ).then((x) => x.flat());
}

/** Thrown when storage runs out mid-import: nothing after it can be written either. */
class StorageFull extends Error {}

/** null when `need` bytes fit, else the message saying what is needed and free. */
async function quotaProblem(
  need: number,
  estimate: ImportOptions['estimate'],
): Promise<string | null> {
  if (!estimate) return null;
  const { usage = 0, quota } = await estimate();
  if (quota === undefined) return null;
  const free = quota - usage;
  if (need <= free) return null;
  return `needs about ${mib(need)} of browser storage, ${mib(Math.max(0, free))} is free (quota ${mib(quota)}); free space (other sites' data, "forget data") or import fewer files`;
}

function isQuotaError(e: unknown): boolean {
  const n = (e as { name?: string })?.name;
  return n === 'QuotaExceededError' || /quota/i.test((e as Error)?.message ?? '');
}

export async function importFiles(
  files: File[],
  onProgress: Progress,
  opts: ImportOptions,
): Promise<ImportReport> {
  const errors: ImportError[] = [];
  const notes: string[] = [];
  const entries = await expand(files, errors);
  const fail = (path: string, e: unknown): void => {
    const msg = (e as Error).message ?? String(e);
    errors.push({ file: path, message: msg.startsWith(path) ? msg : `${path}: ${msg}` });
  };
  const isCancelled = (): boolean => opts.cancelled?.() ?? false;
  const progress = await importProgress();
  const npz = entries.filter((e) => /\.npz$/i.test(e.path));
  const questionFiles = entries.filter((e) => QUESTIONS.test(e.path));
  const rest = entries.filter((e) => !npz.includes(e) && !questionFiles.includes(e));
  let imported = 0;
  let done = 0;
  const total = entries.length;
  const tick = (label: string): void => onProgress(++done, total, label);
  const sources: string[] = [];
  const subsets = new Set<string>((await getMeta<string[]>('medmnist-subsets')) ?? []);
  let cancelled = false;

  const write = async (
    samples: StoredSample[],
    marks: Record<string, number | 'done'>,
  ): Promise<void> => {
    try {
      await addSamplesWithProgress(samples, marks);
    } catch (e) {
      if (isQuotaError(e)) {
        throw new StorageFull(
          `browser storage is full after ${imported} new samples; what was imported is kept: free space and import the same files again to resume`,
        );
      }
      throw e;
    }
    imported += samples.length;
  };

  try {
    // 1. MedMNIST npz: VQA triplets from the core builder, chunk by chunk; official test split
    //    kept as held-out. Any subset of a client's subsets is a valid (partial) client.
    for (const e of npz) {
      if (isCancelled()) break;
      const mark = progress[e.key];
      if (mark === 'done') {
        notes.push(`${e.path}: already imported (skipped)`);
        tick(e.path);
        continue;
      }
      try {
        const file = readNpz(e.path, await e.read(), { targetSize: opts.targetSize, chunk: BATCH });
        const from = typeof mark === 'number' ? mark : 0;
        const left = file.total - Math.min(file.total, from * BATCH);
        const channels = SUBSETS[file.subset].channels;
        const problem = await quotaProblem(
          left * (file.size * file.size * channels + RECORD_OVERHEAD),
          opts.estimate,
        );
        if (problem) throw new Error(`${file.total} images at ${file.size} px ${problem}`);
        if (from > 0) notes.push(`${e.path}: resumed after ${from} of ${file.numChunks} batches`);
        let k = from;
        let written = 0;
        for (const chunk of file.chunks(from)) {
          k += 1;
          await write(chunk, { [e.key]: k === file.numChunks ? 'done' : k });
          written += chunk.length;
          onProgress(done, total, `${e.path} ${k}/${file.numChunks}`);
          if (isCancelled() && k < file.numChunks) {
            cancelled = true;
            break;
          }
        }
        subsets.add(file.subset);
        sources.push(e.path);
        if (written === 0 && !cancelled) notes.push(`${e.path}: nothing left to import`);
      } catch (err) {
        if (err instanceof StorageFull) throw err;
        fail(e.path, err);
      }
      if (cancelled) break;
      tick(e.path);
    }

    // 2. Questions files (SLAKE / VQA-RAD JSON, CSV questions, CSV labels).
    const questions: QuestionEntry[] = [];
    for (const e of cancelled ? [] : questionFiles) {
      try {
        const p = parseQuestions(e.path, new TextDecoder().decode(await e.read()));
        questions.push(...p.entries);
        if (p.skipped.length)
          notes.push(`${p.skipped.length} row(s) skipped: ${p.skipped.slice(0, 3).join('; ')}`);
        sources.push(`${e.path} (${p.format}, ${p.entries.length} questions)`);
      } catch (err) {
        fail(e.path, err);
      }
      tick(e.path);
    }

    // 3. Images and DICOM files, joined with the questions by path or (DICOM) SOPInstanceUID.
    // Anything else may be an image or a DICOM file: PACS exports name files by UID
    // ("1.2.840.113619.2.55.3.604688119.969.1268071029.320") or not at all, so DICOM is
    // recognised by its DICM marker, not by the name. DICOMDIR is the media's index.
    const pictures = rest.filter((e) => !/(^|\/)DICOMDIR$/i.test(e.path));
    if (pictures.length < rest.length) notes.push('DICOMDIR (the media index) skipped');
    const resolve = makeImageResolver(pictures.map((p) => p.path));
    const byImage = new Map<string, QuestionEntry[]>();
    const byUid = new Map<string, QuestionEntry[]>();
    let outOfVocab = 0;
    const outOfVocabExamples = new Set<string>();
    for (const q of questions) {
      if (!inVocabulary(q.answer)) {
        outOfVocab++;
        if (outOfVocabExamples.size < 3) outOfVocabExamples.add(q.answer);
        continue;
      }
      const path = resolve(q.image);
      if (path) byImage.set(path, [...(byImage.get(path) ?? []), q]);
      else byUid.set(q.image.trim(), [...(byUid.get(q.image.trim()) ?? []), q]);
    }
    if (outOfVocab) {
      notes.push(
        `${outOfVocab} question(s) skipped: answer not among the model's answer classes (e.g. ${[...outOfVocabExamples].map((a) => `"${a}"`).join(', ')})`,
      );
    }
    const labelled = pictures.length && questions.length ? pictures.length : 0;
    const problem = await quotaProblem(
      labelled * (STORE_SIZE * STORE_SIZE * 3 + RECORD_OVERHEAD),
      opts.estimate,
    );
    if (problem && !cancelled) {
      errors.push({ file: '(images)', message: `${pictures.length} images: import ${problem}` });
    }
    const usedUids = new Set<string>();
    let batch: StoredSample[] = [];
    let marks: Record<string, 'done'> = {};
    let unlabelled = 0;
    let skippedDone = 0;
    const flush = async (): Promise<void> => {
      if (batch.length || Object.keys(marks).length) await write(batch, marks);
      batch = [];
      marks = {};
    };
    for (const e of cancelled || problem ? [] : pictures) {
      if (isCancelled()) {
        cancelled = true;
        break;
      }
      if (progress[e.key] === 'done') {
        skippedDone++;
        tick(e.path);
        continue;
      }
      try {
        const bytes = await e.read();
        let img: DecodedImage;
        let uid: string | undefined;
        if (IMAGE.test(e.path)) img = await decodeImage(e.path, bytes);
        else if (looksLikeDicom(bytes) || /\.(dcm|dicom)$/i.test(e.path)) {
          const d = await decodeDicom(e.path, bytes, opts.decoders);
          img = d;
          uid = d.sopInstanceUid;
        } else {
          throw new Error(
            'unsupported file type (expected .npz, .zip, .png, .jpg, DICOM (.dcm or the DICM marker), .json or .csv)',
          );
        }
        const qs = byImage.get(e.path) ?? (uid ? byUid.get(uid) : undefined);
        if (uid && !byImage.has(e.path) && byUid.has(uid)) usedUids.add(uid);
        if (!qs) unlabelled++;
        else {
          const split = splitOf(uid ?? e.path);
          for (const q of qs) {
            batch.push({
              split,
              image: img.data,
              size: img.size,
              channels: img.channels,
              question: q.question,
              answer: q.answer,
              questionType: q.questionType,
              source: e.path,
            });
          }
          marks[e.key] = 'done';
        }
      } catch (err) {
        fail(e.path, err);
      }
      if (batch.length >= BATCH) await flush();
      tick(e.path);
    }
    await flush();
    const unresolved = [...byUid.keys()].filter((u) => !usedUids.has(u)).length;
    if (unresolved && !cancelled) {
      notes.push(
        `${unresolved} question/label key(s) name no imported image (file name or SOPInstanceUID)`,
      );
    }
    if (skippedDone) notes.push(`${skippedDone} image(s) already imported (skipped)`);
    if (unlabelled)
      notes.push(`${unlabelled} image(s) have no question in the questions file(s); not imported`);
    if (pictures.length && !questionFiles.length) {
      notes.push(
        'images need a questions or labels file (SLAKE/VQA-RAD JSON, CSV image,question,answer, or CSV file,label keyed by file name or SOPInstanceUID) in the same import',
      );
    }
  } catch (err) {
    if (!(err instanceof StorageFull)) throw err;
    errors.push({ file: '(storage)', message: err.message });
  }
  if (cancelled) {
    notes.push(
      `import cancelled after ${imported} new samples; import the same files again to resume`,
    );
  }
  try {
    if (imported > 0) {
      const prev = (await getMeta<string[]>('sources')) ?? [];
      await setMeta('sources', [...prev, ...sources.filter((s) => !prev.includes(s))]);
    }
    if (subsets.size) await setMeta('medmnist-subsets', [...subsets]);
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    errors.push({
      file: '(storage)',
      message: 'browser storage is full: the import summary could not be saved (the samples are)',
    });
  }
  const summary = await summarize();
  for (const [client, c] of Object.entries(summary.medmnist)) {
    if (c.missing.length)
      notes.push(
        `${client}: found ${c.found.join(', ')}; no ${c.missing.join(', ')} (a partial site: its question mix is that of the subsets found)`,
      );
  }
  return { imported, errors, notes, summary, cancelled };
}

/** The demo/e2e path: a synthetic client's data generated here, in the worker. */
export async function importSynthetic(
  samples: {
    train: Omit<StoredSample, 'split' | 'source'>[];
    test: Omit<StoredSample, 'split' | 'source'>[];
  },
  name: string,
  onProgress: Progress,
): Promise<ImportReport> {
  const all: StoredSample[] = [
    ...samples.train.map((s) => ({ ...s, split: 'train' as const, source: `synthetic:${name}` })),
    ...samples.test.map((s) => ({ ...s, split: 'test' as const, source: `synthetic:${name}` })),
  ];
  for (let i = 0; i < all.length; i += BATCH) {
    await addSamplesWithProgress(all.slice(i, i + BATCH), {});
    onProgress(Math.min(i + BATCH, all.length), all.length, `synthetic ${name}`);
  }
  const prev = (await getMeta<string[]>('sources')) ?? [];
  await setMeta('sources', [...prev, `synthetic client ${name}`]);
  return { imported: all.length, errors: [], notes: [], summary: await summarize() };
}
