// Layer scores for the coordinator's selection (method.md §1): LNTK by default, or one of the
// baseline scorers the strategy asks for (method.md §4). 'none' sends uniform scores (strategies
// that ignore them, e.g. full or random), as the Node simulator does.
import { computeLntk, scoreLayers } from '@focus-fl/core/importance';
import type { VqaSample } from '@focus-fl/core/data';
import type { VqaModel } from '@focus-fl/core/model';

/** LNTK sample count per round (interfaces.md default); keeps the Gram small (n x n). */
export const LNTK_SAMPLES = 16;

export async function layerScoresFor(
  method: string,
  model: VqaModel,
  samples: VqaSample[],
  seed: number,
): Promise<Record<string, number>> {
  const layers = model.layerNames();
  let scores: number[];
  if (method === 'none') scores = layers.map(() => 1 / layers.length);
  else if (method === 'lntk') {
    const r = computeLntk(model, samples, { numSamples: LNTK_SAMPLES, seed });
    return Object.fromEntries(r.layers.map((l: string, i: number) => [l, r.scores[i]]));
  } else
    scores = scoreLayers(method as Parameters<typeof scoreLayers>[0], model, samples, { seed });
  return Object.fromEntries(layers.map((l, i) => [l, scores[i]]));
}
