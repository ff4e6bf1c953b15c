// Turns whatever the user picked (files, a folder, zips) into stored VQA samples. Each bad
// file gets one message naming it and is skipped; everything else still imports.
import { unzipSync } from 'fflate';
import { addSamples, setMeta, getMeta, summarize, type StoredSample } from '../storage.js';
import type { ImportError, ImportReport, Progress } from '../api.js';
import { decodeDicom, looksLikeDicom, type DecodedImage } from './dicom.js';
import { decodeImage } from './images.js';
import { makeImageResolver, parseQuestions, type QuestionEntry } from './questions.js';
import { npzToSamples } from './npz.js';
import { inVocabulary } from './vocab.js';
import { mulberry32 } from '@focus-fl/core/random';

/** A file after zip expansion: its relative path and a way to read it. */
interface Entry {
  path: string;
  read(): Promise<Uint8Array>;
}

const IMAGE = /\.(png|jpe?g)$/i;
const QUESTIONS = /\.(json|csv)$/i;
const BATCH = 256;

function hashPath(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** 80/20 split (docs/method.md §5) decided per image, so all questions on one image share a split. */
function splitOf(key: string): 'train' | 'test' {
  return mulberry32(hashPath(key))() < 0.8 ? 'train' : 'test';
}

function expand(files: File[], errors: ImportError[]): Promise<Entry[]> {
  return Promise.all(
    files.map(async (f): Promise<Entry[]> => {
      const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
      if (!/\.zip$/i.test(f.name)) {
        return [{ path, read: async () => new Uint8Array(await f.arrayBuffer()) }];
      }
      try {
        const entries = unzipSync(new Uint8Array(await f.arrayBuffer()));
        return Object.entries(entries)
          .filter(([p, b]) => !p.endsWith('/') && !p.startsWith('__MACOSX/') && b.length > 0)
          .map(([p, b]) => ({ path: `${f.name}/${p}`, read: async () => b }));
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

export async function importFiles(files: File[], onProgress: Progress): Promise<ImportReport> {
  const errors: ImportError[] = [];
  const notes: string[] = [];
  const entries = await expand(files, errors);
  const fail = (path: string, e: unknown): void => {
    const msg = (e as Error).message ?? String(e);
    errors.push({ file: path, message: msg.startsWith(path) ? msg : `${path}: ${msg}` });
  };
  const npz = entries.filter((e) => /\.npz$/i.test(e.path));
  const questionFiles = entries.filter((e) => QUESTIONS.test(e.path));
  const rest = entries.filter((e) => !npz.includes(e) && !questionFiles.includes(e));
  let imported = 0;
  let done = 0;
  const total = entries.length;
  const tick = (label: string): void => onProgress(++done, total, label);
  const sources: string[] = [];

  // 1. MedMNIST npz: VQA triplets from the core builder; official test split kept as held-out.
  for (const e of npz) {
    try {
      const samples = npzToSamples(e.path, await e.read());
      for (let i = 0; i < samples.length; i += BATCH) await addSamples(samples.slice(i, i + BATCH));
      imported += samples.length;
      sources.push(e.path);
    } catch (err) {
      fail(e.path, err);
    }
    tick(e.path);
  }

  // 2. Questions files (SLAKE / VQA-RAD JSON, CSV).
  const questions: QuestionEntry[] = [];
  for (const e of questionFiles) {
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

  // 3. Images and DICOM files, joined with the questions by path.
  const pictures = rest.filter(
    (e) => IMAGE.test(e.path) || /\.(dcm|dicom)$/i.test(e.path) || !/\.[a-z0-9]+$/i.test(e.path),
  );
  for (const e of rest) {
    if (!pictures.includes(e)) {
      fail(
        e.path,
        new Error('unsupported file type (expected .npz, .zip, .png, .jpg, .dcm, .json or .csv)'),
      );
      tick(e.path);
    }
  }
  const resolve = makeImageResolver(pictures.map((p) => p.path));
  const byImage = new Map<string, QuestionEntry[]>();
  let unresolved = 0;
  let outOfVocab = 0;
  const outOfVocabExamples = new Set<string>();
  for (const q of questions) {
    const path = resolve(q.image);
    if (!path) {
      unresolved++;
      continue;
    }
    if (!inVocabulary(q.answer)) {
      outOfVocab++;
      if (outOfVocabExamples.size < 3) outOfVocabExamples.add(q.answer);
      continue;
    }
    byImage.set(path, [...(byImage.get(path) ?? []), q]);
  }
  if (unresolved) notes.push(`${unresolved} question(s) name an image that was not imported`);
  if (outOfVocab) {
    notes.push(
      `${outOfVocab} question(s) skipped: answer not among the model's answer classes (e.g. ${[...outOfVocabExamples].map((a) => `"${a}"`).join(', ')})`,
    );
  }
  let batch: StoredSample[] = [];
  let unlabelled = 0;
  for (const e of pictures) {
    const qs = byImage.get(e.path);
    try {
      const bytes = await e.read();
      let img: DecodedImage;
      if (IMAGE.test(e.path)) img = await decodeImage(e.path, bytes);
      else if (looksLikeDicom(bytes) || /\.(dcm|dicom)$/i.test(e.path))
        img = decodeDicom(e.path, bytes);
      else throw new Error('unsupported file type (no extension and not DICOM)');
      if (!qs) unlabelled++;
      else {
        const split = splitOf(e.path);
        for (const q of qs) {
          batch.push({
            split,
            ...img,
            image: img.data,
            question: q.question,
            answer: q.answer,
            questionType: q.questionType,
            source: e.path,
          });
        }
      }
    } catch (err) {
      fail(e.path, err);
    }
    if (batch.length >= BATCH) {
      await addSamples(batch);
      imported += batch.length;
      batch = [];
    }
    tick(e.path);
  }
  if (batch.length) {
    await addSamples(batch);
    imported += batch.length;
  }
  if (unlabelled)
    notes.push(`${unlabelled} image(s) have no question in the questions file(s); not imported`);
  if (pictures.length && !questionFiles.length) {
    notes.push(
      'images need a questions file (SLAKE/VQA-RAD JSON or CSV image,question,answer) in the same import',
    );
  }
  if (imported > 0) {
    const prev = (await getMeta<string[]>('sources')) ?? [];
    await setMeta('sources', [...prev, ...sources]);
  }
  return { imported, errors, notes, summary: await summarize() };
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
    await addSamples(all.slice(i, i + BATCH));
    onProgress(Math.min(i + BATCH, all.length), all.length, `synthetic ${name}`);
  }
  const prev = (await getMeta<string[]>('sources')) ?? [];
  await setMeta('sources', [...prev, `synthetic client ${name}`]);
  return { imported: all.length, errors: [], notes: [], summary: await summarize() };
}
