// Shared fixtures for the model/train tests: tiny configs and deterministic toy samples.
import type { SampleLike } from '../src/model/batch.js';
import { mulberry32 } from '../src/random.js';

/** A toy task whose answer is visible in the image: bright left half / right half / none. */
export function toySamples(n: number, seed: number, size = 28): SampleLike[] {
  const rand = mulberry32(seed);
  const answers = ['left', 'right', 'none'];
  return Array.from({ length: n }, (_, i) => {
    const a = i % 3;
    const img = new Uint8Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const bright = (a === 0 && x < size / 2) || (a === 1 && x >= size / 2);
        img[y * size + x] = Math.min(255, Math.floor((bright ? 160 : 40) + rand() * 60));
      }
    }
    return {
      image: img,
      size,
      channels: 1,
      question: 'which side is bright?',
      answer: answers[a],
      questionType: 'position',
    };
  });
}

export const TOY_ANSWERS = ['left', 'right', 'none'];
