// Procedural MedMNIST-like scenes, one style per imaging modality. Each class of a subset is a
// named offset (`classes[c]`) on the style's base parameters; `render` draws one sample from
// the resulting parameters plus its own nuisance randomness (positions, counts, texture).
// The look is a caricature of the modality (grey X-ray/CT/OCT/ultrasound/fluorescence, RGB
// H&E/dermoscopy/blood smear/fundus); the class signal sits in shape, texture and colour.

import type { Canvas, Color } from './canvas.js';

export type Params = Record<string, number>;

export interface RenderContext {
  view?: 'axial' | 'coronal' | 'sagittal';
}

export interface Style {
  channels: 1 | 3;
  base: Params;
  /** Per-class offsets on `base` (index = label value). */
  classes: readonly Params[];
  /** Per-sample standard deviation of parameters (scaled by difficulty). */
  jitter: Params;
  render(c: Canvas, p: Params, rand: () => number, ctx: RenderContext): void;
}

const U = (rand: () => number, a: number, b: number): number => a + (b - a) * rand();
const mix = (a: readonly number[], b: readonly number[], t: number): [number, number, number] => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];
const times = (n: number): number[] =>
  Array.from({ length: Math.max(0, Math.round(n)) }, (_, i) => i);
const wobble = (rand: () => number, amount: number): [number, number, number][] => [
  [0.12 * amount, 3, U(rand, 0, 6.28)],
  [0.08 * amount, 5, U(rand, 0, 6.28)],
  [0.05 * amount, 9, U(rand, 0, 6.28)],
];

/** Chest radiograph (ChestMNIST findings, PneumoniaMNIST). */
export const XRAY: Style = {
  channels: 1,
  base: {
    heart: 0.15,
    haze: 0,
    infil: 0,
    effusion: 0,
    nodule: 0,
    mass: 0,
    ptx: 0,
    emph: 0,
    fib: 0,
    atel: 0,
    pleural: 0,
    hernia: 0,
    edema: 0,
    child: 0,
  },
  // Order = ChestMNIST labels; PneumoniaMNIST uses XRAY_PNEUMONIA below.
  classes: [
    { atel: 1 },
    { heart: 0.09 },
    { effusion: 1 },
    { infil: 1 },
    { mass: 1 },
    { nodule: 1 },
    { haze: 0.6, infil: 0.5 },
    { ptx: 1 },
    { haze: 1 },
    { edema: 1 },
    { emph: 1 },
    { fib: 1 },
    { pleural: 1 },
    { hernia: 1 },
  ],
  jitter: { heart: 0.015 },
  render(c, p, rand) {
    // `child` (PneumoniaMNIST's paediatric radiographs): a small child's chest, drawn on top of
    // the adult scene's order of operations; at child 0 the adult scene is drawn exactly as
    // before (the same calls with the same random draws).
    const child = p.child > 0.5;
    c.fill(0.06);
    if (child) c.ellipse(0.5, 0.56, 0.56, 0.5, 0.46 + U(rand, -0.05, 0.05));
    else c.ellipse(0.5, 0.58, 0.5, 0.6, 0.5 + U(rand, -0.05, 0.05));
    if (child) drawChildFrame(c);
    const lungTone = 0.2 - 0.08 * p.emph;
    const grow = 1 + 0.15 * p.emph;
    // Right lung (image left) and left lung; atelectasis shrinks the image-right lung. A small
    // child's lungs are shorter and wider (the thorax is nearly as wide as it is tall).
    if (child) {
      c.ellipse(0.29, 0.47, 0.18 * grow, 0.22 * grow, lungTone + 0.04, 0.95, { angle: 0.12 });
      c.ellipse(0.71, 0.47, 0.18 * grow, 0.22 * grow, lungTone + 0.04, 0.95, { angle: -0.12 });
    } else {
      c.ellipse(0.3, 0.45, 0.15 * grow, 0.3 * grow, lungTone, 0.95, { angle: 0.08 });
      c.ellipse(
        0.7,
        0.45 + 0.1 * p.atel,
        0.15 * grow,
        0.3 * grow * (1 - 0.35 * p.atel),
        lungTone,
        0.95,
        {
          angle: -0.08,
        },
      );
    }
    if (p.pleural > 0) {
      c.ellipse(0.3, 0.45, 0.16, 0.31, 0.65, 0.5 * p.pleural, { hole: 0.85 });
      c.ellipse(0.7, 0.45, 0.16, 0.31, 0.65, 0.5 * p.pleural, { hole: 0.85 });
    }
    // Lung markings.
    for (const i of times(4)) {
      const x = i < 2 ? 0.3 : 0.7;
      c.line(0.5, 0.45, x + U(rand, -0.1, 0.1), U(rand, 0.25, 0.65), 0.012, 0.4, 0.35);
    }
    c.line(0.5, 0.1, 0.5, 0.95, 0.05, 0.62);
    if (child) {
      // The thymus widens the upper mediastinum ("sail"); the heart is large for the chest.
      c.ellipse(0.46, 0.32, 0.1, 0.1, 0.6, 0.9, { angle: 0.3 });
      c.ellipse(0.54, 0.62, p.heart * 1.35, p.heart * 1.0, 0.62);
    } else c.ellipse(0.55, 0.64, p.heart * 1.15, p.heart * 0.9, 0.62);
    if (p.haze > 0 && child) {
      // Lobar consolidation inside the child's shorter lungs.
      c.ellipse(0.72, 0.5, 0.13, 0.13, 0.6, 0.75 * Math.min(1, p.haze));
      c.ellipse(0.28, 0.47, 0.1, 0.1, 0.55, 0.4 * Math.min(1, p.haze));
    } else if (p.haze > 0) {
      c.ellipse(0.7, 0.62, 0.13, 0.14, 0.6, 0.75 * Math.min(1, p.haze));
      c.ellipse(0.3, 0.6, 0.1, 0.1, 0.55, 0.4 * Math.min(1, p.haze));
    }
    for (const _ of times(5 * p.infil)) {
      c.ellipse(U(rand, 0.2, 0.8), U(rand, 0.25, 0.65), 0.05, 0.04, 0.55, 0.45);
    }
    if (p.edema > 0) {
      c.ellipse(0.37, 0.45, 0.1, 0.15, 0.55, 0.6 * p.edema);
      c.ellipse(0.63, 0.45, 0.1, 0.15, 0.55, 0.6 * p.edema);
    }
    if (p.effusion > 0) {
      c.ellipse(0.25, 0.78, 0.16, 0.1, 0.68, 0.9 * Math.min(1, p.effusion));
      c.ellipse(0.75, 0.78, 0.16, 0.1, 0.68, 0.6 * Math.min(1, p.effusion));
    }
    if (p.nodule > 0)
      c.ellipse(U(rand, 0.22, 0.36), U(rand, 0.3, 0.55), 0.035, 0.035, 0.85, p.nodule);
    if (p.mass > 0) c.ellipse(U(rand, 0.65, 0.75), U(rand, 0.3, 0.45), 0.09, 0.08, 0.75, p.mass);
    if (p.ptx > 0) c.ellipse(0.2, 0.32, 0.07, 0.2, 0.02, 0.9 * p.ptx);
    for (const _ of times(6 * p.fib)) {
      const x = U(rand, 0.2, 0.8);
      const y = U(rand, 0.3, 0.7);
      c.line(x, y, x + U(rand, -0.12, 0.12), y + U(rand, -0.12, 0.12), 0.015, 0.65, 0.7);
    }
    if (p.hernia > 0) c.ellipse(0.45, 0.8, 0.1, 0.07, 0.28, p.hernia);
  },
};

/**
 * What frames a small child's supine AP radiograph and no adult PA one: the upper arms raised
 * beside the head, and the stomach's gas bubble under the left hemidiaphragm in the field.
 */
function drawChildFrame(c: Canvas): void {
  c.line(0.13, 0.34, 0.03, 0.02, 0.08, 0.5);
  c.line(0.87, 0.34, 0.97, 0.02, 0.08, 0.5);
  c.ellipse(0.68, 0.86, 0.09, 0.05, 0.03, 0.9);
}

/**
 * PneumoniaMNIST: normal vs pneumonia (lobar haze + patchy infiltrate) on the radiographs of
 * small children (its source: paediatric chest X-rays, aged one to five), so its normal class
 * is not ChestMNIST's adult "no finding" scene (packages/core/src/data/README.md, "Synthetic generator").
 */
export const XRAY_PNEUMONIA: Style = {
  ...XRAY,
  base: { ...XRAY.base, child: 1 },
  classes: [{}, { haze: 0.8, infil: 0.8 }],
};

/** Retinal OCT B-scan (OCTMNIST: CNV, DME, drusen, normal). */
export const OCT: Style = {
  channels: 1,
  base: { thick: 0.18, pit: 0.3, cysts: 0, cnv: 0, drusen: 0, curve: 0.3 },
  classes: [
    { cnv: 1, pit: -0.2 },
    { cysts: 1, thick: 0.08, pit: -0.3 },
    { drusen: 1 },
    { pit: 0.5 },
  ],
  jitter: { curve: 0.15, thick: 0.015 },
  render(c, p, rand) {
    c.fill(0.04);
    const S = c.size;
    const tilt = U(rand, -0.08, 0.08);
    const druse = times(6 * p.drusen).map(
      () => [U(rand, 0.15, 0.85), U(rand, 0.02, 0.04)] as const,
    );
    for (let px = 0; px < S; px++) {
      const x = (px + 0.5) / S;
      const bowl = p.curve * (x - 0.5) ** 2 + tilt * (x - 0.5);
      const pit = 0.09 * p.pit * Math.exp(-(((x - 0.5) / 0.09) ** 2));
      const bump = p.cnv * 0.12 * Math.exp(-(((x - 0.56) / 0.12) ** 2));
      let lift = bump;
      for (const [dx, h] of druse) lift += h * Math.exp(-(((x - dx) / 0.03) ** 2));
      const top = 0.36 + bowl + pit - bump;
      const rpe = 0.36 + bowl + p.thick - lift;
      for (let py = 0; py < S; py++) {
        const y = (py + 0.5) / S;
        if (y >= top && y < rpe) {
          const depth = (y - top) / Math.max(0.02, rpe - top);
          // Bright nerve-fibre layer, darker nuclear layers, brighter photoreceptor band.
          const v = depth < 0.15 ? 0.7 : depth < 0.6 ? 0.35 : 0.5;
          c.blend(px, py, v, 1);
        } else if (y >= rpe && y < rpe + 0.035) c.blend(px, py, 0.88, 1);
        else if (y >= rpe + 0.035 && y < rpe + 0.14) c.blend(px, py, 0.3, 1);
      }
    }
    for (const _ of times(4 * p.cysts)) {
      c.ellipse(U(rand, 0.35, 0.65), 0.36 + p.thick * U(rand, 0.35, 0.7), 0.04, 0.03, 0.05, 0.95);
    }
    if (p.cnv > 0) c.ellipse(0.56, 0.36 + p.thick - 0.02, 0.09, 0.04, 0.06, 0.8 * p.cnv);
    c.speckle(rand, 0.25);
  },
};

const PINK = [0.93, 0.6, 0.78] as const;
const WHITE = [0.97, 0.96, 0.97] as const;
const HEMA = [0.33, 0.18, 0.52] as const;

/** H&E colon pathology (PathMNIST, NCT-CRC-HE tissue classes). */
export const PATHOLOGY: Style = {
  channels: 3,
  base: {
    pink: 0.8,
    white: 0.1,
    nuclei: 0.3,
    nucSize: 1,
    fibers: 0,
    fat: 0,
    mucus: 0,
    debris: 0,
    glands: 0,
    irregular: 0,
  },
  classes: [
    { white: 0.7, fat: 1, nuclei: -0.25 },
    { white: 0.9, pink: -0.6, nuclei: -0.3 },
    { debris: 1, nuclei: 0.2, nucSize: -0.4 },
    { nuclei: 1.4, nucSize: -0.15 },
    { mucus: 1, nuclei: -0.25, white: 0.3 },
    { fibers: 1, pink: 0.2, nuclei: -0.1 },
    { glands: 1 },
    { fibers: 0.6, pink: -0.1, white: 0.2 },
    { glands: 1, irregular: 1, nuclei: 0.6, nucSize: 0.35 },
  ],
  jitter: { pink: 0.08, white: 0.06 },
  render(c, p, rand) {
    const tissue = mix(PINK, WHITE, Math.min(1, Math.max(0, p.white)));
    c.fill(mix(WHITE, tissue, Math.min(1, Math.max(0, p.pink + 0.2))));
    c.noise(rand, 6, 0.05, [0.6, 1, 0.6]);
    if (p.mucus > 0) {
      c.ellipse(0.5, 0.5, 0.6, 0.45, [0.78, 0.78, 0.9], 0.7 * p.mucus, { wobble: wobble(rand, 1) });
      c.noise(rand, 4, 0.05 * p.mucus, [0.5, 0.5, 1]);
    }
    const ang = U(rand, 0, Math.PI);
    for (const i of times(9 * p.fibers)) {
      const off = (i / 9 - 0.5) * 1.2 + U(rand, -0.03, 0.03);
      const cx = 0.5 - Math.sin(ang) * off;
      const cy = 0.5 + Math.cos(ang) * off;
      const dx = Math.cos(ang) * 0.8;
      const dy = Math.sin(ang) * 0.8;
      c.line(cx - dx, cy - dy, cx + dx, cy + dy, 0.03, [0.8, 0.35, 0.55], 0.55);
      c.ellipse(
        cx + U(rand, -0.3, 0.3) * dx,
        cy + U(rand, -0.3, 0.3) * dy,
        0.035,
        0.01,
        HEMA,
        0.8,
        {
          angle: ang,
        },
      );
    }
    for (const _ of times(7 * p.fat)) {
      const r = U(rand, 0.1, 0.17);
      c.ring(U(rand, 0, 1), U(rand, 0, 1), r, 0.02, [0.9, 0.55, 0.7], 0.8);
    }
    for (const _ of times(3 * p.glands)) {
      const gx = U(rand, 0.2, 0.8);
      const gy = U(rand, 0.2, 0.8);
      const r = U(rand, 0.1, 0.15) * (1 + 0.3 * p.irregular);
      c.ellipse(gx, gy, r, r * 0.8, WHITE, 0.9, { wobble: wobble(rand, 2 * p.irregular) });
      const n = Math.round(10 + 6 * p.irregular);
      for (let k = 0; k < n; k++) {
        const th = (k / n) * 2 * Math.PI;
        const jr = r * (1.2 + U(rand, -0.25, 0.25) * p.irregular);
        const s = 0.022 * p.nucSize;
        c.ellipse(gx + Math.cos(th) * jr, gy + Math.sin(th) * jr * 0.8, s * 1.4, s, HEMA, 0.9, {
          angle: th,
        });
      }
    }
    for (const _ of times(40 * Math.max(0, p.nuclei))) {
      const s = U(rand, 0.012, 0.022) * Math.max(0.3, p.nucSize);
      c.ellipse(U(rand, 0, 1), U(rand, 0, 1), s, s * U(rand, 0.7, 1), HEMA, 0.85);
    }
    for (const _ of times(25 * p.debris)) {
      const s = U(rand, 0.008, 0.03);
      c.ellipse(
        U(rand, 0, 1),
        U(rand, 0, 1),
        s,
        s * 0.6,
        rand() < 0.5 ? HEMA : [0.85, 0.4, 0.6],
        0.8,
        {
          angle: U(rand, 0, 3),
          wobble: wobble(rand, 2),
        },
      );
    }
  },
};

/** Dermoscopy (DermaMNIST, HAM10000 classes). */
export const DERMOSCOPY: Style = {
  channels: 3,
  base: {
    size: 0.22,
    dark: 0.3,
    red: 0,
    irregular: 0.1,
    varieg: 0.2,
    ring: 0,
    vessels: 0,
    scale: 0,
  },
  classes: [
    { red: 0.5, dark: -0.25, scale: 0.8, irregular: 0.2 },
    { red: 0.25, dark: -0.35, vessels: 1, size: -0.03 },
    { dark: -0.1, scale: 0.5, varieg: 0.1, size: 0.03 },
    { size: -0.1, ring: 1, dark: 0.1 },
    { size: 0.1, dark: 0.55, irregular: 0.9, varieg: 0.9 },
    { dark: 0.1 },
    { red: 1, size: -0.05, dark: -0.1 },
  ],
  jitter: { size: 0.03, dark: 0.08 },
  render(c, p, rand) {
    const skin = mix([0.92, 0.72, 0.62], [0.7, 0.5, 0.4], U(rand, 0, 0.6));
    c.fill(skin);
    c.noise(rand, 8, 0.03);
    const brown = mix([0.62, 0.42, 0.3], [0.18, 0.1, 0.08], Math.min(1, Math.max(0, p.dark)));
    const col = mix(brown, [0.72, 0.18, 0.3], Math.min(1, Math.max(0, p.red)));
    const rx = Math.max(0.05, p.size) * U(rand, 0.9, 1.15);
    const ry = rx * U(rand, 0.75, 1);
    const ang = U(rand, 0, Math.PI);
    if (p.ring > 0)
      c.ellipse(0.5, 0.5, rx * 1.7, ry * 1.7, [0.95, 0.85, 0.75], 0.7 * p.ring, { angle: ang });
    c.ellipse(0.5, 0.5, rx, ry, col, 0.9, { angle: ang, wobble: wobble(rand, p.irregular * 1.5) });
    for (const _ of times(5 * p.varieg)) {
      const r = rx * U(rand, 0.2, 0.5);
      const shade: Color = rand() < 0.5 ? [0.12, 0.07, 0.07] : [0.5, 0.45, 0.55];
      c.ellipse(
        0.5 + U(rand, -0.5, 0.5) * rx,
        0.5 + U(rand, -0.5, 0.5) * ry,
        r,
        r * 0.7,
        shade,
        0.6,
        {
          wobble: wobble(rand, 1),
        },
      );
    }
    for (const _ of times(5 * p.vessels)) {
      const x = 0.5 + U(rand, -0.6, 0.6) * rx;
      const y = 0.5 + U(rand, -0.6, 0.6) * ry;
      c.path(
        [
          [x, y],
          [x + U(rand, -0.1, 0.1), y + U(rand, -0.1, 0.1)],
          [x + U(rand, -0.15, 0.15), y + U(rand, -0.15, 0.15)],
        ],
        0.012,
        [0.75, 0.1, 0.15],
        0.9,
      );
    }
    for (const _ of times(10 * p.scale)) {
      c.ellipse(
        0.5 + U(rand, -0.8, 0.8) * rx,
        0.5 + U(rand, -0.8, 0.8) * ry,
        0.025,
        0.015,
        [0.97, 0.93, 0.88],
        0.6,
      );
    }
  },
};

/** Colour fundus photograph graded for diabetic retinopathy (RetinaMNIST, grades 0-4). */
export const FUNDUS: Style = {
  channels: 3,
  base: { ma: 0, hem: 0, exu: 0, cotton: 0, neo: 0, macula: 0 },
  classes: [
    {},
    { ma: 6, exu: 2, macula: 0.3 },
    { ma: 9, hem: 3, exu: 6, macula: 0.6 },
    { ma: 10, hem: 7, exu: 10, cotton: 2, macula: 0.9 },
    { ma: 12, hem: 10, exu: 14, cotton: 4, neo: 1, macula: 1.2 },
  ],
  jitter: { ma: 1, hem: 0.8, exu: 0.8 },
  render(c, p, rand) {
    c.fill(0.02);
    const base = mix([0.8, 0.38, 0.16], [0.7, 0.3, 0.12], U(rand, 0, 1));
    c.ellipse(0.5, 0.5, 0.47, 0.47, base);
    c.ellipse(0.5, 0.5, 0.47, 0.47, [0.35, 0.12, 0.04], 0.35, { hole: 0.7 });
    const side = rand() < 0.5 ? -1 : 1; // left or right eye
    const dx = 0.5 + side * 0.2;
    c.ellipse(0.5, 0.52, 0.07, 0.07, [0.5, 0.2, 0.08], 0.5);
    for (const k of [-1, 1]) {
      for (const bend of [0.12, 0.2]) {
        const pts: [number, number][] = [];
        for (let t = 0; t <= 1.0001; t += 0.2) {
          pts.push([dx - side * t * 0.45, 0.5 + k * (bend * Math.sin(t * 2.2) + 0.02 * t)]);
        }
        c.path(pts, 0.018, [0.5, 0.08, 0.05], 0.8);
      }
    }
    c.ellipse(dx, 0.5, 0.065, 0.07, [0.98, 0.88, 0.55]);
    // Macular oedema / circinate exudates: a diffuse yellow halo whose strength grows with grade.
    if (p.macula > 0)
      c.ellipse(0.5, 0.52, 0.2, 0.18, [0.95, 0.75, 0.3], Math.min(0.6, 0.3 * p.macula));
    const spot = (): [number, number] => {
      const th = U(rand, 0, 6.28);
      // Lesions cluster around the macula (DR maculopathy), which keeps a position-stable signal.
      const r = Math.sqrt(rand()) * 0.24;
      return [0.5 + r * Math.cos(th), 0.5 + r * Math.sin(th)];
    };
    for (const _ of times(p.ma)) c.ellipse(...spot(), 0.025, 0.025, [0.4, 0.02, 0.02]);
    for (const _ of times(p.hem)) {
      const r = U(rand, 0.04, 0.07);
      c.ellipse(...spot(), r, r * 0.8, [0.4, 0.02, 0.03], 0.9, { wobble: wobble(rand, 1) });
    }
    for (const _ of times(p.exu)) c.ellipse(...spot(), 0.035, 0.03, [0.98, 0.92, 0.4], 0.95);
    for (const _ of times(p.cotton)) c.ellipse(...spot(), 0.06, 0.05, [0.95, 0.9, 0.85], 0.7);
    for (const _ of times(3 * p.neo)) {
      const [x, y] = spot();
      c.path(
        [
          [x, y],
          [x + U(rand, -0.08, 0.08), y + U(rand, -0.08, 0.08)],
          [x + U(rand, -0.08, 0.08), y + U(rand, -0.08, 0.08)],
        ],
        0.01,
        [0.6, 0.05, 0.08],
      );
    }
  },
};

/** Breast ultrasound (BreastMNIST: malignant vs normal/benign). */
export const ULTRASOUND: Style = {
  channels: 1,
  base: { size: 0.2, irregular: 0.3, aspect: 0.8, shadow: 0, enhance: 0, dark: 0.1 },
  classes: [
    { irregular: 0.7, aspect: 0.45, shadow: 1, size: 0.01 },
    { irregular: -0.25, aspect: -0.25, enhance: 1 },
  ],
  jitter: { size: 0.03, aspect: 0.1 },
  render(c, p, rand) {
    c.fill(0.38);
    c.noise(rand, 5, 0.08);
    c.ellipse(0.5, 0.02, 0.8, 0.08, 0.75, 0.8);
    c.line(0, 0.22 + U(rand, -0.05, 0.05), 1, 0.2 + U(rand, -0.05, 0.05), 0.05, 0.6, 0.6);
    const rx = Math.max(0.06, p.size);
    const ry = rx * Math.max(0.3, p.aspect);
    const cy = 0.52;
    if (p.shadow > 0) c.ellipse(0.5, cy + ry + 0.2, rx * 0.9, 0.22, 0.08, 0.7 * p.shadow);
    if (p.enhance > 0) c.ellipse(0.5, cy + ry + 0.15, rx, 0.15, 0.7, 0.5 * p.enhance);
    c.ellipse(0.5, cy, rx, ry, p.dark, 0.95, {
      wobble: wobble(rand, 2.5 * Math.max(0, p.irregular)),
    });
    c.speckle(rand, 0.35);
  },
};

const CELL_BG = [0.93, 0.86, 0.84] as const;

/** Peripheral blood smear, one leukocyte (or platelets) in the centre (BloodMNIST). */
export const BLOOD: Style = {
  channels: 3,
  base: {
    cellR: 0.27,
    nucR: 0.14,
    lobes: 0,
    kidney: 0,
    granOrange: 0,
    granPurple: 0,
    granFine: 0,
    cytoBlue: 0.2,
    nucDark: 1,
    platelet: 0,
  },
  classes: [
    { nucR: 0.01, lobes: 2, granPurple: 1 },
    { cellR: 0.01, nucR: -0.02, lobes: 2, granOrange: 1 },
    { cellR: -0.08, nucR: -0.02, nucDark: 0.35, cytoBlue: 0.2 },
    { cellR: 0.05, nucR: 0.06, nucDark: -0.3, granFine: 0.5, cytoBlue: 0.2 },
    { cellR: -0.06, nucR: 0.05, nucDark: 0.2, cytoBlue: 0.6 },
    { cellR: 0.07, nucR: 0.04, kidney: 1, cytoBlue: 0.4, nucDark: -0.2 },
    { nucR: -0.04, lobes: 3.5, granFine: 0.6 },
    { cellR: -0.27, nucR: -0.14, platelet: 1 },
  ],
  jitter: { cellR: 0.02, nucR: 0.015 },
  render(c, p, rand) {
    c.fill(CELL_BG);
    c.noise(rand, 4, 0.02);
    for (const _ of times(U(rand, 3, 7))) {
      const x = U(rand, 0, 1);
      const y = U(rand, 0, 1);
      c.ellipse(x, y, 0.13, 0.13, [0.9, 0.6, 0.6], 0.9);
      c.ellipse(x, y, 0.05, 0.05, [0.93, 0.75, 0.74], 0.7);
    }
    for (const _ of times(8 * p.platelet)) {
      c.ellipse(
        0.5 + U(rand, -0.2, 0.2),
        0.5 + U(rand, -0.2, 0.2),
        0.03,
        0.022,
        [0.55, 0.35, 0.7],
        0.9,
      );
    }
    if (p.cellR < 0.05) return;
    const cyto = mix([0.9, 0.78, 0.84], [0.66, 0.72, 0.92], Math.min(1, Math.max(0, p.cytoBlue)));
    c.ellipse(0.5, 0.5, p.cellR, p.cellR * U(rand, 0.9, 1), cyto);
    const gran = (n: number, col: readonly [number, number, number], r: number): void => {
      for (const _ of times(n)) {
        const th = U(rand, 0, 6.28);
        const rr = Math.sqrt(rand()) * p.cellR * 0.9;
        c.ellipse(0.5 + rr * Math.cos(th), 0.5 + rr * Math.sin(th), r, r, col, 0.85);
      }
    };
    gran(30 * p.granOrange, [0.95, 0.45, 0.25], 0.02);
    gran(20 * p.granFine, [0.7, 0.55, 0.75], 0.01);
    const nuc = mix(
      [0.55, 0.4, 0.72],
      [0.2, 0.08, 0.38],
      Math.min(1, Math.max(0, p.nucDark - 0.3)),
    );
    const lobes = Math.round(p.lobes);
    if (lobes >= 2) {
      const rot = U(rand, 0, 6.28);
      for (let k = 0; k < lobes; k++) {
        const th = rot + (k / lobes) * 2 * Math.PI;
        const r = p.nucR * 0.65;
        c.ellipse(
          0.5 + Math.cos(th) * p.nucR * 0.8,
          0.5 + Math.sin(th) * p.nucR * 0.8,
          r,
          r * 0.8,
          nuc,
          1,
          {
            angle: th,
          },
        );
      }
    } else {
      c.ellipse(0.5, 0.5, p.nucR, p.nucR * U(rand, 0.85, 1), nuc);
      if (p.kidney > 0.5) {
        const th = U(rand, 0, 6.28);
        c.ellipse(
          0.5 + Math.cos(th) * p.nucR,
          0.5 + Math.sin(th) * p.nucR,
          p.nucR * 0.5,
          p.nucR * 0.5,
          cyto,
        );
      }
    }
    gran(35 * p.granPurple, [0.2, 0.05, 0.3], 0.02);
  },
};

/** Kidney cortex microscopy (TissueMNIST, grey fluorescence-like). */
export const KIDNEY: Style = {
  channels: 1,
  base: {
    ring: 0,
    ringR: 0.25,
    ringW: 0.08,
    brush: 0,
    blobs: 0,
    elong: 0,
    processes: 0,
    cellR: 0,
    bright: 0.7,
  },
  classes: [
    { ring: 1, ringR: 0.05, ringW: 0 },
    { ring: 1, ringW: 0.03 },
    { blobs: 1 },
    { elong: 1, cellR: 0.08 },
    { cellR: 0.1, bright: 0.2 },
    { processes: 1, cellR: 0.12 },
    { ring: 1, ringR: 0.07, ringW: 0.07, brush: 1 },
    { ring: 1, ringR: -0.04, ringW: -0.03, bright: 0.2 },
  ],
  jitter: { ringR: 0.025, ringW: 0.015, bright: 0.08 },
  render(c, p, rand) {
    c.fill(0.12);
    c.noise(rand, 6, 0.06);
    const br = Math.min(1, Math.max(0.2, p.bright));
    for (const _ of times(3)) c.ellipse(U(rand, 0, 1), U(rand, 0, 1), 0.04, 0.03, 0.4, 0.6);
    if (p.ring > 0) {
      c.ring(0.5, 0.5, Math.max(0.05, p.ringR), Math.max(0.02, p.ringW), br * 0.8, p.ring);
      const n = 8;
      for (let k = 0; k < n; k++) {
        const th = (k / n) * 6.28 + U(rand, -0.2, 0.2);
        c.ellipse(
          0.5 + Math.cos(th) * p.ringR,
          0.5 + Math.sin(th) * p.ringR,
          0.025,
          0.025,
          br,
          0.8 * p.ring,
        );
      }
      if (p.brush > 0) c.ring(0.5, 0.5, p.ringR - p.ringW / 2, 0.025, 1, 0.8 * p.brush);
    }
    for (const _ of times(9 * p.blobs)) {
      const th = U(rand, 0, 6.28);
      const r = Math.sqrt(rand()) * 0.22;
      c.ellipse(0.5 + r * Math.cos(th), 0.5 + r * Math.sin(th), 0.045, 0.045, br, 0.85);
    }
    if (p.cellR > 0.02) {
      const ang = U(rand, 0, Math.PI);
      const ex = 1 + 2.5 * Math.max(0, p.elong);
      c.ellipse(0.5, 0.5, p.cellR * ex, p.cellR / Math.sqrt(ex), br, 1, { angle: ang });
    }
    for (const k of times(6 * p.processes)) {
      const th = (k / 6) * 6.28 + U(rand, -0.3, 0.3);
      c.line(0.5, 0.5, 0.5 + Math.cos(th) * 0.32, 0.5 + Math.sin(th) * 0.32, 0.03, br * 0.8);
    }
  },
};

/**
 * Abdominal CT crop centred on an organ (OrganA/C/SMNIST). `side` mirrors the scene for
 * left/right organs (the body midline sits on the opposite side); `view` changes the
 * surrounding anatomy (round body section, vertical spine for coronal/sagittal).
 */
export const CT: Style = {
  channels: 1,
  base: {
    organR: 0.25,
    aspect: 1,
    inten: 0.55,
    bone: 0,
    air: 0,
    notch: 0,
    chambers: 0,
    crescent: 0,
    lobul: 0,
    side: 0,
  },
  classes: [
    { inten: -0.25, organR: 0.02 },
    { bone: 1, organR: -0.07, side: 1 },
    { bone: 1, organR: -0.07, side: -1 },
    { organR: 0.08, chambers: 1 },
    { notch: 1, organR: -0.05, aspect: 0.6, inten: 0.15, side: 1 },
    { notch: 1, organR: -0.05, aspect: 0.6, inten: 0.15, side: -1 },
    { organR: 0.17, inten: 0.07 },
    { air: 1, organR: 0.1, side: 1 },
    { air: 1, organR: 0.1, side: -1 },
    { lobul: 1, aspect: 1.6, organR: -0.08, inten: -0.05 },
    { crescent: 1, inten: 0.05 },
  ],
  jitter: { organR: 0.03, inten: 0.04 },
  render(c, p, rand, ctx) {
    c.fill(0.22);
    c.noise(rand, 5, 0.06);
    const side = Math.max(-1, Math.min(1, p.side));
    const mid = 0.5 - 0.42 * side;
    // The anatomy around the organ tells the plane, as it does in OrganA/C/SMNIST's crops of
    // the same CT volumes: axial, the vertebral body below with the ribs in cross-section on an
    // arc around the abdomen; coronal, the spine as a vertical column with ribs running out to
    // both sides; sagittal, the spine at the back and the anterior abdominal wall at the front,
    // ribs running obliquely down and forward.
    if (ctx.view === 'axial') {
      c.ring(mid, 0.88, 0.08, 0.04, 0.92);
      c.ellipse(mid, 0.55, 0.08, 0.08, 0.35);
      for (const k of times(7)) {
        const th = Math.PI * (0.1 + 0.8 * (k / 6));
        c.ellipse(0.5 + 0.47 * Math.cos(th), 0.55 - 0.47 * Math.sin(th), 0.035, 0.025, 0.9);
      }
    } else if (ctx.view === 'coronal') {
      for (let y = 0.05; y < 1; y += 0.16) c.ellipse(mid, y, 0.06, 0.06, 0.85);
      for (const y of [0.08, 0.2, 0.32]) {
        c.line(mid, y, mid - 0.45, y + 0.08, 0.025, 0.8);
        c.line(mid, y, mid + 0.45, y + 0.08, 0.025, 0.8);
      }
    } else {
      // A sagittal slice has no left and right: the spine is at the back whatever the organ.
      const spine = 0.86;
      for (let y = 0.05; y < 1; y += 0.16) c.ellipse(spine, y, 0.07, 0.055, 0.85);
      for (const y of [0.06, 0.22, 0.38]) c.line(spine, y, spine - 0.4, y + 0.22, 0.025, 0.8);
      c.line(0.11, 0.02, 0.06, 0.98, 0.05, 0.65);
    }
    c.ellipse(0.5 + side * 0.5, 0.5, 0.12, 0.6, 0.03, 0.6 * Math.abs(side));
    const r = Math.max(0.06, p.organR);
    const ax = r * Math.sqrt(Math.max(0.3, p.aspect));
    const ay = r / Math.sqrt(Math.max(0.3, p.aspect));
    const ang = U(rand, -0.3, 0.3);
    const inten = Math.min(1, Math.max(0, p.inten));
    if (p.air > 0.3) {
      c.ellipse(0.5, 0.5, ax, ay * 1.2, 0.04, 0.95 * Math.min(1, p.air), {
        wobble: wobble(rand, 0.3),
      });
      for (const _ of times(8))
        c.ellipse(0.5 + U(rand, -0.6, 0.6) * ax, 0.5 + U(rand, -0.6, 0.6) * ay, 0.015, 0.015, 0.5);
    } else {
      c.ellipse(0.5, 0.5, ax, ay, inten, 0.95, {
        angle: ang,
        wobble: wobble(rand, 0.4 + 1.5 * p.lobul),
      });
    }
    if (p.bone > 0.3) {
      c.ring(0.5, 0.5, r, 0.06, 0.95, Math.min(1, p.bone));
      c.ellipse(0.5, 0.5, r * 0.8, r * 0.8, 0.5, 0.6 * Math.min(1, p.bone));
    }
    if (p.notch > 0.3)
      c.ellipse(0.5 - side * ax, 0.5, ax * 0.45, ay * 0.5, 0.25, Math.min(1, p.notch));
    if (p.chambers > 0.3) {
      c.ellipse(0.42, 0.45, r * 0.35, r * 0.3, 0.75, 0.8);
      c.ellipse(0.6, 0.55, r * 0.3, r * 0.35, 0.75, 0.8);
    }
    if (p.crescent > 0.3)
      c.ellipse(0.5 + 0.5 * r, 0.5, r * 0.8, r * 0.85, 0.22, Math.min(1, p.crescent));
  },
};
