// Are the labels of "where is the <colour> shape?" (shapes-task.ts `find`) the quadrant of the
// named colour in the rendered image, and do the colour words survive tokenisation? Each
// bright pixel is given the palette colour nearest to it (brightness-scaled); the quadrant with
// most pixels of the named colour must be the answer.
//   pnpm exec tsx bench/diagnostics/binding-check.ts [n (400)] [seed (7)]
import { defaultTokenizer } from '../../packages/core/src/model/index.js';
import {
  COLOURS,
  CORNERS,
  PRETRAIN_QUESTION_TYPES,
  shapesTask,
} from '../../packages/core/src/train/index.js';

const n = Number(process.argv[2] ?? 400);
const seed = Number(process.argv[3] ?? 7);
const tok = defaultTokenizer();
const weights = Object.fromEntries(PRETRAIN_QUESTION_TYPES.map((t) => [t, t === 'find' ? 1 : 0]));
let checked = 0;
let agree = 0;
let missingWord = 0;
for (const s of shapesTask(n, seed, { typeWeights: weights })) {
  if (!s.question.endsWith(' shape?')) continue; // the shape form: "where is the circle?"
  const colour = s.question.split(' ')[3];
  const ids = Array.from(tok.encode(s.question, 16).ids);
  if (!tok.tokenize(s.question).includes(colour)) missingWord++;
  const votes = [0, 0, 0, 0];
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const o = (y * 28 + x) * 3;
      const p = [s.image[o], s.image[o + 1], s.image[o + 2]];
      if (Math.max(...p) < 100) continue; // background (15-60 plus noise)
      let best = '';
      let bestD = Infinity;
      for (const [name, c] of Object.entries(COLOURS)) {
        const g = Math.max(...p) / Math.max(...c);
        const d = c.reduce((a, v, i) => a + (v * g - p[i]) ** 2, 0);
        if (d < bestD) [bestD, best] = [d, name];
      }
      if (best === colour) votes[(y >= 14 ? 2 : 0) + (x >= 14 ? 1 : 0)]++;
    }
  checked++;
  if (CORNERS[votes.indexOf(Math.max(...votes))] === s.answer) agree++;
  if (checked <= 3)
    console.log(`${s.question} -> ${s.answer}; pixels per quadrant [${votes}]; ids [${ids}]`);
}
console.log(
  `${agree} / ${checked} answers are the quadrant of the named colour; colour word missing from ${missingWord} tokenisations`,
);
