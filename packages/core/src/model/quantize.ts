// Symmetric per-output-channel int8 quantization of the frozen base:
//   scale_c = max_i |W[i, c]| / 127,  q = clamp(round(W / scale_c), -127, 127),  W' = q * scale_c,
// so |W - W'| <= scale_c / 2 for every element. Channel = output column of a Linear kernel
// [in, out] (axis 1) or row of an embedding table [rows, hidden] (axis 0).

export interface QuantizedInt8 {
  shape: [number, number];
  axis: 0 | 1;
  q: Int8Array;
  /** One fp32 scale per channel (length shape[axis]). */
  scales: Float32Array;
}

function check2d(shape: readonly number[], axis: number): [number, number] {
  if (shape.length !== 2)
    throw new Error(`quantizeInt8: expected a 2-D tensor, got shape [${shape}]`);
  if (axis !== 0 && axis !== 1) throw new Error(`quantizeInt8: axis must be 0 or 1, got ${axis}`);
  return [shape[0], shape[1]];
}

export function quantizeInt8(
  data: Float32Array,
  shape: readonly number[],
  axis: 0 | 1,
): QuantizedInt8 {
  const [R, C] = check2d(shape, axis);
  if (data.length !== R * C)
    throw new Error(`quantizeInt8: shape [${shape}] needs ${R * C} values, got ${data.length}`);
  const channels = axis === 0 ? R : C;
  const maxAbs = new Float32Array(channels);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const v = data[r * C + c];
      if (!Number.isFinite(v)) throw new Error(`quantizeInt8: non-finite value at [${r}, ${c}]`);
      const ch = axis === 0 ? r : c;
      const a = Math.abs(v);
      if (a > maxAbs[ch]) maxAbs[ch] = a;
    }
  }
  const scales = new Float32Array(channels);
  for (let ch = 0; ch < channels; ch++) scales[ch] = maxAbs[ch] / 127;
  const q = new Int8Array(R * C);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const s = scales[axis === 0 ? r : c];
      q[r * C + c] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(data[r * C + c] / s)));
    }
  }
  return { shape: [R, C], axis, q, scales };
}

export function dequantizeInt8(t: QuantizedInt8): Float32Array {
  const [R, C] = check2d(t.shape, t.axis);
  const channels = t.axis === 0 ? R : C;
  if (t.q.length !== R * C)
    throw new Error(`dequantizeInt8: shape [${t.shape}] needs ${R * C} values, got ${t.q.length}`);
  if (t.scales.length !== channels)
    throw new Error(
      `dequantizeInt8: expected ${channels} scales for axis ${t.axis}, got ${t.scales.length}`,
    );
  const out = new Float32Array(R * C);
  const { q, scales } = t;
  for (let r = 0; r < R; r++) {
    const row = r * C;
    if (t.axis === 0) {
      const s = scales[r];
      for (let c = 0; c < C; c++) out[row + c] = q[row + c] * s;
    } else {
      for (let c = 0; c < C; c++) out[row + c] = q[row + c] * scales[c];
    }
  }
  return out;
}

/** Dequantized rows `ids` of an axis-0 (per-row) int8 table, row-major [ids.length, cols]. */
export function gatherRowsInt8(t: QuantizedInt8, ids: ArrayLike<number>): Float32Array {
  if (t.axis !== 0) throw new Error('gatherRowsInt8: the table must be quantized per row (axis 0)');
  const [R, C] = t.shape;
  const out = new Float32Array(ids.length * C);
  for (let k = 0; k < ids.length; k++) {
    const r = ids[k];
    if (!Number.isInteger(r) || r < 0 || r >= R)
      throw new Error(`gatherRowsInt8: row ${r} is outside [0, ${R})`);
    const s = t.scales[r];
    for (let c = 0; c < C; c++) out[k * C + c] = t.q[r * C + c] * s;
  }
  return out;
}
