// A tiny float raster for the synthetic generator: soft-edged shapes in normalised [0,1]
// coordinates (so a scene renders the same at 28, 64, 128 or 224 px), alpha-blended.

import { gaussian } from '../../random.js';

export type Color = number | readonly [number, number, number];

/** Shape coordinates go through this similarity transform (per-sample pose jitter). */
export interface Pose {
  dx: number;
  dy: number;
  scale: number;
  /** Rotation in radians about the image centre. */
  angle: number;
}

const IDENTITY: Pose = { dx: 0, dy: 0, scale: 1, angle: 0 };

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export class Canvas {
  readonly data: Float32Array;
  pose: Pose = IDENTITY;

  constructor(
    readonly size: number,
    readonly channels: 1 | 3,
  ) {
    this.data = new Float32Array(size * size * channels);
  }

  private rgb(c: Color): readonly [number, number, number] {
    return typeof c === 'number' ? [c, c, c] : c;
  }

  /** Maps a scene point through the pose to image coordinates in [0,1]. */
  private map(x: number, y: number): [number, number] {
    const { dx, dy, scale, angle } = this.pose;
    const u = (x - 0.5) * scale;
    const v = (y - 0.5) * scale;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    return [0.5 + c * u - s * v + dx, 0.5 + s * u + c * v + dy];
  }

  /** Blends colour `c` into pixel (px, py) with coverage `a`. */
  blend(px: number, py: number, c: Color, a: number): void {
    if (a <= 0 || px < 0 || py < 0 || px >= this.size || py >= this.size) return;
    const k = (py * this.size + px) * this.channels;
    if (this.channels === 1) {
      const v = typeof c === 'number' ? c : 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      this.data[k] += (v - this.data[k]) * a;
    } else if (typeof c === 'number') {
      // A grey: no [c, c, c] array per pixel (the same arithmetic).
      this.data[k] += (c - this.data[k]) * a;
      this.data[k + 1] += (c - this.data[k + 1]) * a;
      this.data[k + 2] += (c - this.data[k + 2]) * a;
    } else {
      this.data[k] += (c[0] - this.data[k]) * a;
      this.data[k + 1] += (c[1] - this.data[k + 1]) * a;
      this.data[k + 2] += (c[2] - this.data[k + 2]) * a;
    }
  }

  fill(c: Color): void {
    for (let y = 0; y < this.size; y++) for (let x = 0; x < this.size; x++) this.blend(x, y, c, 1);
  }

  /**
   * Soft ellipse. `wobble` perturbs the radius with harmonics r(θ) = 1 + Σ a_k sin(f_k θ + φ_k)
   * (irregular, spiculated borders).
   */
  ellipse(
    cx: number,
    cy: number,
    rx: number,
    ry: number,
    c: Color,
    alpha = 1,
    opts: { angle?: number; wobble?: readonly [number, number, number][]; hole?: number } = {},
  ): void {
    const [mx, my] = this.map(cx, cy);
    const sc = this.pose.scale;
    const ang = (opts.angle ?? 0) + this.pose.angle;
    const arx = Math.max(1e-4, rx * sc);
    const ary = Math.max(1e-4, ry * sc);
    let maxWobble = 1;
    for (const [a] of opts.wobble ?? []) maxWobble += Math.abs(a);
    // The harmonics as flat (a, f, phase) triples, read by index in the pixel loop.
    const wob = opts.wobble ? Float64Array.from(opts.wobble.flat()) : null;
    const hole = opts.hole;
    const reach = Math.max(arx, ary) * maxWobble + 2 / this.size;
    const S = this.size;
    const x0 = Math.max(0, Math.floor((mx - reach) * S));
    const x1 = Math.min(S - 1, Math.ceil((mx + reach) * S));
    const y0 = Math.max(0, Math.floor((my - reach) * S));
    const y1 = Math.min(S - 1, Math.ceil((my + reach) * S));
    const cos = Math.cos(ang);
    const sin = Math.sin(ang);
    // Edge width ~ one pixel in radius units: anti-aliasing that holds at every resolution.
    const soft = 1 / (S * Math.min(arx, ary));
    // The bounding square's pixels beyond radius maxWobble + soft (in u, v units) have zero
    // coverage: r <= maxWobble, so (r - d) / soft + 0.5 < 0 there, and blend() ignores a zero
    // coverage. They are skipped before the hypot / atan2 / sin (the margin 1e-9 covers the
    // rounding of u * u + v * v against hypot): the same pixels change, by the same arithmetic.
    const outside = (maxWobble + soft) ** 2 * (1 + 1e-9);
    for (let py = y0; py <= y1; py++) {
      const Y = (py + 0.5) / S - my;
      const sinY = sin * Y;
      const cosY = cos * Y;
      for (let px = x0; px <= x1; px++) {
        const X = (px + 0.5) / S - mx;
        const u = (cos * X + sinY) / arx;
        const v = (-sin * X + cosY) / ary;
        if (u * u + v * v > outside) continue;
        const d = Math.hypot(u, v);
        let r = 1;
        if (wob) {
          const th = Math.atan2(v, u);
          for (let w = 0; w < wob.length; w += 3)
            r += wob[w] * Math.sin(wob[w + 1] * th + wob[w + 2]);
        }
        let cov = clamp01((r - d) / soft + 0.5);
        if (hole !== undefined) cov *= clamp01((d - hole * r) / soft + 0.5);
        this.blend(px, py, c, cov * alpha);
      }
    }
  }

  /** Circle outline of radius r and width w (a ring: ellipse with a hole). */
  ring(cx: number, cy: number, r: number, w: number, c: Color, alpha = 1): void {
    const outer = r + w / 2;
    this.ellipse(cx, cy, outer, outer, c, alpha, { hole: Math.max(0, (r - w / 2) / outer) });
  }

  /** Thick segment with round caps. */
  line(x0: number, y0: number, x1: number, y1: number, w: number, c: Color, alpha = 1): void {
    const [ax, ay] = this.map(x0, y0);
    const [bx, by] = this.map(x1, y1);
    const hw = Math.max(0.5 / this.size, (w * this.pose.scale) / 2);
    const S = this.size;
    const xa = Math.max(0, Math.floor((Math.min(ax, bx) - hw) * S - 1));
    const xb = Math.min(S - 1, Math.ceil((Math.max(ax, bx) + hw) * S + 1));
    const ya = Math.max(0, Math.floor((Math.min(ay, by) - hw) * S - 1));
    const yb = Math.min(S - 1, Math.ceil((Math.max(ay, by) + hw) * S + 1));
    const ex = bx - ax;
    const ey = by - ay;
    const len2 = ex * ex + ey * ey || 1e-12;
    // Zero coverage from distance hw + 0.5 / S on: pixels beyond hw + 1 / S are skipped
    // before the hypot (as in ellipse(): the same pixels change, by the same arithmetic).
    const outside = (hw + 1 / S) ** 2 * (1 + 1e-9);
    for (let py = ya; py <= yb; py++) {
      const Y = (py + 0.5) / S - ay;
      for (let px = xa; px <= xb; px++) {
        const X = (px + 0.5) / S - ax;
        const t = Math.max(0, Math.min(1, (X * ex + Y * ey) / len2));
        const qx = X - t * ex;
        const qy = Y - t * ey;
        if (qx * qx + qy * qy > outside) continue;
        const d = Math.hypot(qx, qy);
        this.blend(px, py, c, clamp01((hw - d) * S + 0.5) * alpha);
      }
    }
  }

  /** Polyline through points (vessels, fibres). */
  path(points: readonly [number, number][], w: number, c: Color, alpha = 1): void {
    for (let i = 1; i < points.length; i++) {
      const [x0, y0] = points[i - 1];
      const [x1, y1] = points[i];
      this.line(x0, y0, x1, y1, w, c, alpha);
    }
  }

  /**
   * Adds smooth value noise (a `grid` x `grid` lattice of N(0,1) values, bilinear) times
   * `amp`, per channel scaled by `tint` (texture of tissue, parenchyma, speckle clouds).
   */
  noise(rand: () => number, grid: number, amp: number, tint: Color = 1): void {
    const g = Math.max(2, Math.round(grid));
    const lat = new Float32Array((g + 1) * (g + 1));
    for (let i = 0; i < lat.length; i++) lat[i] = gaussian(rand);
    const t = this.rgb(tint);
    const S = this.size;
    for (let py = 0; py < S; py++) {
      const fy = ((py + 0.5) / S) * g;
      const iy = Math.min(g - 1, Math.floor(fy));
      const ty = fy - iy;
      for (let px = 0; px < S; px++) {
        const fx = ((px + 0.5) / S) * g;
        const ix = Math.min(g - 1, Math.floor(fx));
        const tx = fx - ix;
        const a = lat[iy * (g + 1) + ix];
        const b = lat[iy * (g + 1) + ix + 1];
        const c = lat[(iy + 1) * (g + 1) + ix];
        const d = lat[(iy + 1) * (g + 1) + ix + 1];
        const v = amp * ((a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty);
        const k = (py * S + px) * this.channels;
        if (this.channels === 1) this.data[k] += v * (typeof tint === 'number' ? tint : 1);
        else for (let ch = 0; ch < 3; ch++) this.data[k + ch] += v * t[ch];
      }
    }
  }

  /** Multiplicative speckle (ultrasound, OCT): each pixel times (1 + amp * N(0,1)). */
  speckle(rand: () => number, amp: number): void {
    for (let i = 0; i < this.data.length; i += this.channels) {
      const m = 1 + amp * gaussian(rand);
      for (let ch = 0; ch < this.channels; ch++) this.data[i + ch] *= m;
    }
  }

  /** Quantises to uint8 after additive Gaussian noise of std `noise` (in [0,1] units), into
   * `out` when given (a sample's slot of the split's image array: no copy). */
  toBytes(rand: () => number, noise: number, out = new Uint8Array(this.data.length)): Uint8Array {
    if (out.length !== this.data.length)
      throw new Error(`toBytes: out has ${out.length} bytes, the canvas ${this.data.length}`);
    const data = this.data;
    for (let i = 0; i < out.length; i++) {
      const v = data[i] + (noise > 0 ? noise * gaussian(rand) : 0);
      out[i] = Math.round(clamp01(v) * 255);
    }
    return out;
  }
}
