/**
 * What the coordinator needs of the model: the adapter layer names, the initial global params
 * (adapters + head; the coordinator never runs the model) and the frozen base checkpoint it
 * serves to sites.
 */
import type { NamedArrays } from '@focus-fl/core/tensors';

export interface ModelSource {
  layers: string[];
  initialGlobal: NamedArrays;
  /** The base checkpoint served at /model/base.safetensors (null: not available). */
  baseBytes: Uint8Array | null;
}
