import { describe, expect, it } from 'vitest';
import {
  LABEL_QUESTION,
  makeImageResolver,
  parseCsv,
  parseQuestions,
} from '../src/import/questions.js';

describe('questions files', () => {
  it('reads SLAKE JSON, keeps English questions and maps content types', () => {
    const text = JSON.stringify([
      {
        img_name: 'xmlab1/source.jpg',
        question: 'Which organ is abnormal?',
        answer: 'Lung',
        q_lang: 'en',
        content_type: 'Organ',
      },
      {
        img_name: 'xmlab1/source.jpg',
        question: '哪个器官?',
        answer: '肺',
        q_lang: 'zh',
        content_type: 'Organ',
      },
      {
        img_name: 'xmlab2/source.jpg',
        question: 'What modality?',
        answer: 'CT',
        q_lang: 'en',
        content_type: 'Modality',
      },
    ]);
    const p = parseQuestions('train.json', text);
    expect(p.format).toBe('slake');
    expect(p.entries).toEqual([
      {
        image: 'xmlab1/source.jpg',
        question: 'Which organ is abnormal?',
        answer: 'lung',
        questionType: 'anatomy',
      },
      {
        image: 'xmlab2/source.jpg',
        question: 'What modality?',
        answer: 'ct',
        questionType: 'modality',
      },
    ]);
  });

  it('reads VQA-RAD JSON with combined question types', () => {
    const text = JSON.stringify([
      {
        image_name: 'synpic1.jpg',
        question: 'Is there a mass?',
        answer: 'Yes',
        question_type: 'PRES, POS',
      },
      { image_name: 'synpic2.jpg', question: 'x', question_type: 'ORGAN' },
    ]);
    const p = parseQuestions('VQA_RAD.json', text);
    expect(p.format).toBe('vqa-rad');
    expect(p.entries).toHaveLength(1);
    expect(p.entries[0]).toMatchObject({ answer: 'yes', questionType: 'diagnosis' });
    expect(p.skipped[0]).toMatch(/VQA_RAD.json item 2: missing question or answer/);
  });

  it('reads CSV with quotes and an optional question_type column', () => {
    const csv =
      'image,question,answer,question_type\r\na.png,"Is it, really, normal?",No,diagnosis\nb.png,What grade?,grade 2,\nc.png,q,a,nonsense\n';
    const p = parseQuestions('q.csv', csv);
    expect(p.entries.map((e) => [e.image, e.question, e.answer, e.questionType])).toEqual([
      ['a.png', 'Is it, really, normal?', 'no', 'diagnosis'],
      ['b.png', 'What grade?', 'grade 2', 'grading'],
    ]);
    expect(p.skipped).toEqual([
      'q.csv row 4: question_type "nonsense" is not one of diagnosis, anatomy, tissue, modality, other, grading',
    ]);
    expect(parseCsv('a,"b ""c"""\n')).toEqual([['a', 'b "c"']]);
  });

  it('names the file and what is wrong', () => {
    expect(() => parseQuestions('x.json', '{oops')).toThrow(/x.json: not valid JSON/);
    expect(() => parseQuestions('x.json', '[{"foo":1}]')).toThrow(/x.json: unknown JSON layout/);
    expect(() => parseQuestions('x.csv', 'img,q\n1,2')).toThrow(
      /x.csv: CSV header must contain image,question,answer or file,label \(missing: image \(or file \/ sop_instance_uid\), answer \(or label\)\)/,
    );
  });

  it('reads a labels CSV keyed by file name or SOPInstanceUID', () => {
    const p = parseQuestions(
      'labels.csv',
      'SOPInstanceUID,Label\n1.2.3.4,Pneumonia\nIM0002,normal\n',
    );
    expect(p.entries).toEqual([
      {
        image: '1.2.3.4',
        question: LABEL_QUESTION,
        answer: 'pneumonia',
        questionType: 'diagnosis',
      },
      { image: 'IM0002', question: LABEL_QUESTION, answer: 'normal', questionType: 'diagnosis' },
    ]);
    expect(parseQuestions('l.csv', 'file,label\na.dcm,effusion').entries[0].image).toBe('a.dcm');
  });

  it('resolves image references by path, suffix and unique base name', () => {
    const r = makeImageResolver([
      'data/imgs/xmlab1/source.jpg',
      'data/imgs/xmlab2/source.jpg',
      'data/a.png',
    ]);
    expect(r('xmlab1/source.jpg')).toBe('data/imgs/xmlab1/source.jpg');
    expect(r('source.jpg')).toBeNull(); // ambiguous
    expect(r('A.PNG')).toBe('data/a.png');
    expect(r('missing.png')).toBeNull();
  });
});
