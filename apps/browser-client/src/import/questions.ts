// Parsers for the questions files that accompany an image folder/zip or a DICOM set:
// SLAKE (JSON array of {img_name, question, answer, q_lang, content_type}), VQA-RAD (JSON array
// of {image_name, question, answer, question_type}) and CSV `image,question,answer[,question_type]`.
// Pure functions (no DOM), unit-tested in Node.

export type QType = 'diagnosis' | 'anatomy' | 'tissue' | 'modality' | 'other' | 'grading';

export interface QuestionEntry {
  /** Image reference as written in the file (relative path or file name). */
  image: string;
  question: string;
  /** Lower-cased, trimmed. */
  answer: string;
  questionType: QType;
}

export interface ParsedQuestions {
  format: 'slake' | 'vqa-rad' | 'csv';
  entries: QuestionEntry[];
  /** Rows that could not be used, with the reason (row numbers are 1-based). */
  skipped: string[];
}

/** SLAKE content_type -> Ultra-MedVQA question type (docs/method.md §5). */
const SLAKE_TYPES: Record<string, QType> = {
  organ: 'anatomy',
  position: 'anatomy',
  modality: 'modality',
  plane: 'modality',
  abnormality: 'diagnosis',
  kg: 'diagnosis',
  quantity: 'other',
  size: 'other',
  color: 'other',
  shape: 'other',
};

/** VQA-RAD question_type -> question type. */
const RAD_TYPES: Record<string, QType> = {
  abn: 'diagnosis',
  pres: 'diagnosis',
  organ: 'anatomy',
  pos: 'anatomy',
  modality: 'modality',
  plane: 'modality',
  size: 'other',
  color: 'other',
  attrib: 'other',
  count: 'other',
  other: 'other',
};

const QTYPES: readonly QType[] = ['diagnosis', 'anatomy', 'tissue', 'modality', 'other', 'grading'];

/** Keyword guess for a CSV without a question_type column. */
export function guessType(question: string): QType {
  const q = question.toLowerCase();
  if (/\bgrade|stage|severity\b/.test(q)) return 'grading';
  if (/\bmodality|scan|x-ray|ct|mri|view|plane|imaging\b/.test(q)) return 'modality';
  if (/\btissue|cell\b/.test(q)) return 'tissue';
  if (/\borgan|anatomy|located|where|which part\b/.test(q)) return 'anatomy';
  if (/\bdiagnos|abnormal|disease|malignan|normal|finding|lesion\b/.test(q)) return 'diagnosis';
  return 'other';
}

function normAnswer(a: unknown): string {
  return String(a).trim().toLowerCase();
}

/** Parses one questions file; throws an Error naming the file and field if it is unusable. */
export function parseQuestions(fileName: string, text: string): ParsedQuestions {
  if (/\.json$/i.test(fileName)) return parseJson(fileName, text);
  if (/\.csv$/i.test(fileName)) return parseCsvQuestions(fileName, text);
  throw new Error(`${fileName}: questions must be a .json (SLAKE, VQA-RAD) or .csv file`);
}

function parseJson(fileName: string, text: string): ParsedQuestions {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new Error(`${fileName}: expected a JSON array of questions`);
  const first = raw.find((r) => r && typeof r === 'object') as Record<string, unknown> | undefined;
  if (!first) throw new Error(`${fileName}: no question objects in the array`);
  const format = 'img_name' in first ? 'slake' : 'image_name' in first ? 'vqa-rad' : null;
  if (!format) {
    throw new Error(
      `${fileName}: unknown JSON layout: expected "img_name" (SLAKE) or "image_name" (VQA-RAD) fields`,
    );
  }
  const entries: QuestionEntry[] = [];
  const skipped: string[] = [];
  raw.forEach((r: unknown, i: number) => {
    const row = r as Record<string, unknown>;
    const where = `${fileName} item ${i + 1}`;
    if (!row || typeof row !== 'object') {
      skipped.push(`${where}: not an object`);
      return;
    }
    if (format === 'slake' && row.q_lang !== undefined && row.q_lang !== 'en') return;
    const image = format === 'slake' ? row.img_name : row.image_name;
    if (typeof image !== 'string' || !image) {
      skipped.push(`${where}: missing ${format === 'slake' ? 'img_name' : 'image_name'}`);
      return;
    }
    if (typeof row.question !== 'string' || row.answer === undefined || row.answer === null) {
      skipped.push(`${where}: missing question or answer`);
      return;
    }
    const rawType = String(
      (format === 'slake' ? row.content_type : row.question_type) ?? '',
    ).toLowerCase();
    const key = rawType.split(/[,\s]+/)[0];
    const table = format === 'slake' ? SLAKE_TYPES : RAD_TYPES;
    entries.push({
      image,
      question: row.question,
      answer: normAnswer(row.answer),
      questionType: table[key] ?? guessType(row.question),
    });
  });
  return { format, entries, skipped };
}

/** RFC 4180-ish CSV: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** The question a labels CSV row (file,label) is asked as. */
export const LABEL_QUESTION = 'What is the main finding in this image?';

function parseCsvQuestions(fileName: string, text: string): ParsedQuestions {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (rows.length === 0) throw new Error(`${fileName}: empty CSV`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = (...names: string[]): number => header.findIndex((h) => names.includes(h));
  // A questions CSV (image,question,answer) or a labels CSV keyed by file name or
  // SOPInstanceUID (file,label): a label without a question becomes the diagnosis question.
  const ci = col('image', 'file', 'filename', 'file_name', 'sop_instance_uid', 'sopinstanceuid');
  const cq = col('question');
  const ca = col('answer', 'label');
  const ct = col('question_type');
  const missing = [
    ci < 0 ? 'image (or file / sop_instance_uid)' : '',
    ca < 0 ? 'answer (or label)' : '',
  ].filter(Boolean);
  if (missing.length) {
    throw new Error(
      `${fileName}: CSV header must contain image,question,answer or file,label (missing: ${missing.join(', ')})`,
    );
  }
  const entries: QuestionEntry[] = [];
  const skipped: string[] = [];
  rows.slice(1).forEach((r, i) => {
    const where = `${fileName} row ${i + 2}`;
    const image = r[ci]?.trim();
    const question = cq >= 0 ? r[cq]?.trim() : LABEL_QUESTION;
    const answer = r[ca];
    if (!image || !question || answer === undefined || answer.trim() === '') {
      skipped.push(`${where}: empty image, question or answer`);
      return;
    }
    let questionType = guessType(question);
    if (ct >= 0 && r[ct]?.trim()) {
      const t = r[ct].trim().toLowerCase() as QType;
      if (!QTYPES.includes(t)) {
        skipped.push(`${where}: question_type "${r[ct]}" is not one of ${QTYPES.join(', ')}`);
        return;
      }
      questionType = t;
    }
    entries.push({ image, question, answer: normAnswer(answer), questionType });
  });
  return { format: 'csv', entries, skipped };
}

/**
 * Resolves a questions-file image reference against imported file paths: exact relative path,
 * then a unique path suffix ("xmlab1/source.jpg"), then a unique base name.
 */
export function makeImageResolver(paths: string[]): (ref: string) => string | null {
  const norm = (p: string): string =>
    p
      .replace(/\\/g, '/')
      .replace(/^\.?\//, '')
      .toLowerCase();
  const byPath = new Map(paths.map((p) => [norm(p), p]));
  const byBase = new Map<string, string[]>();
  for (const p of paths) {
    const b = norm(p).split('/').pop() ?? '';
    byBase.set(b, [...(byBase.get(b) ?? []), p]);
  }
  return (ref: string) => {
    const r = norm(ref);
    const exact = byPath.get(r);
    if (exact) return exact;
    const suffix = [...byPath.entries()].filter(([k]) => k.endsWith('/' + r));
    if (suffix.length === 1) return suffix[0][1];
    const base = byBase.get(r.split('/').pop() ?? '');
    return base && base.length === 1 ? base[0] : null;
  };
}
