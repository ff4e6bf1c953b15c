/**
 * Named tensors as plain arrays: the currency between packages (LNTK scores, solver masks,
 * training deltas, aggregation, codecs, the wire). Never positional: every tensor has a name
 * `<layer>/<param>` (e.g. `block3.adapter/down_kernel`, `head/kernel`).
 */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export type NamedArrays = Record<string, NamedArray>;

/**
 * The answer classifier's layer name: always trained by every site, never part of the layer
 * selection (docs/interfaces.md).
 */
export const HEAD_LAYER = 'head';

/** The trainable unit a parameter belongs to: the part of its name before the first '/'. */
export function layerOf(paramName: string): string {
  const i = paramName.indexOf('/');
  if (i <= 0) throw new Error(`parameter name "${paramName}" has no "<layer>/<param>" form`);
  return paramName.slice(0, i);
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function cloneNamed(src: NamedArrays): NamedArrays {
  const out: NamedArrays = {};
  for (const [k, v] of Object.entries(src)) out[k] = { shape: [...v.shape], data: v.data.slice() };
  return out;
}
