// Minibatches for trainLayers from a SampleSource (a site's IndexedDB store): each step's rows
// are read and encoded when the step needs them, the next step's rows read ahead, so a
// full-size site never sits in memory as one tensor. (Arrays take the encode-once path with
// the frozen-prefix cache, step-batches.ts; a streamed step runs its frozen prefix itself.)
import * as tf from '@tensorflow/tfjs';
import { encodeBatch, disposeBatch, type EncodeContext, type SampleLike } from '../model/batch.js';
import type { VqaModel } from '../model/vqa-model.js';
import type { SampleSource } from '../data/sample-source.js';
import type { StepBatch } from './step-batches.js';

export interface StreamedStepSource {
  /** The encoded rows `indices` (and their frozen prefix); `next`: the rows to read ahead. */
  take(indices: readonly number[], next?: readonly number[]): Promise<StepBatch>;
  dispose(): void;
}

export function streamedStepSource(
  model: VqaModel,
  samples: SampleSource<SampleLike>,
  ctx: EncodeContext,
  fromBlock: number,
): StreamedStepSource {
  let ahead: { key: string; rows: Promise<SampleLike[]> } | null = null;
  return {
    async take(indices, next) {
      const key = indices.join(',');
      const rows = ahead?.key === key ? ahead.rows : samples.read(indices);
      ahead = null;
      if (next && next.length) {
        const nextRows = samples.read(next);
        nextRows.catch(() => undefined); // surfaced by the take() that uses it
        ahead = { key: next.join(','), rows: nextRows };
      }
      const batch = encodeBatch(await rows, ctx);
      const prefix = fromBlock > 0 ? model.forwardPrefix(batch, fromBlock) : undefined;
      return {
        batch,
        prefix,
        dispose: () => {
          disposeBatch(batch);
          if (prefix) tf.dispose([prefix.state.x, prefix.state.bias]);
        },
      };
    },
    dispose: () => {
      ahead = null;
    },
  };
}
