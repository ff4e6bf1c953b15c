// Fused element-wise WebAssembly SIMD kernels for the wasm backend: each replaces a chain of
// tfjs kernels whose per-kernel cost (dispatch, allocation, the Identity clones of the tensors
// saved for the backward pass) is most of a training step's time at `tiny`'s sizes
// (bench/train.bench.ts: ~2,200 kernels per all-adapters step, ~4.4 us of dispatch each).
// All work in the backend's own memory (pointers are byte addresses), float32 throughout, as
// separate multiplies and adds (no fused multiply-add), so results are deterministic.
//
//   layerNorm(x, gamma, beta, y, xhat, rstd, rows, h, eps): per row of h values (h % 4 = 0),
//     mean, r = 1 / sqrt(mean((x - mean)^2) + eps), xhat = (x - mean) r, y = xhat gamma + beta;
//     writes y, xhat and r (one per row), the tensors LayerNorm's gradient needs.
//   layerNormGrad(dy, xhat, rstd, gamma, dx, dgamma, dbeta, rows, h): with g = dy gamma,
//     dx = r (g - mean(g) - xhat mean(g xhat)), dgamma = sum over rows of dy xhat, dbeta = sum dy.
//   gelu(x, y, phi, count): y = (x / 2) (1 + erf(x / sqrt 2)), the same float32 operations (and
//     erf, wasm-asm.ts) as forward.ts's composition on this backend, so the same bits; also
//     phi = (1 + erf(x / sqrt 2)) / 2, kept for the gradient (no second erf).
//   geluGrad(x, phi, dy, dx, count): dx = dy (phi + (x / 2) sqrt(2 / pi) exp(-u^2)),
//     u = x / sqrt 2.
//   adamw(table, count, b1, 1 - b1, b2, 1 - b2, 1 - b1^t, 1 - b2^t, eps, wd, lr): every
//     trained tensor's AdamW update in one call (train/adamw.ts); the table holds, per tensor,
//     eight i32: p, m, v, g, p', m', v' (addresses) and the element count; per element
//       m' = m b1 + g (1 - b1),  v' = v b2 + g^2 (1 - b2),
//       p' = p - lr ((m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps) + wd p),
//     the operations of train/adamw.ts's tfjs composition in its order.
//   scaleBias(s, bias, z, rows, rowsPerBias, n, scale): per row of n scores, z = s scale + bias,
//     the bias row being row / rowsPerBias (attention's [batch, 1, 1, L] padding bias,
//     broadcast over heads and query rows); the backend's own (XNNPACK) softmax follows.
//   softmaxGrad(y, dy, dx, rows, n, scale): dx = (dy y - sum(dy y) y) scale per row (tfjs's
//     Softmax gradient, then the scale's).
//   colSum(x, y, rows, n): y = the sum of the rows of x (a dense layer's bias gradient).
//   addRow(y, b, rows, n): y += b on every row, in place (a dense layer's bias).
//   addInPlace(y, r, count): y += r, in place (a residual added to a dense layer's output).
import {
  f32Address,
  fnType,
  instantiateOn,
  kernelModule,
  erfOfStack,
  expNonPositiveOfStack,
  F32,
  forStep,
  forUp,
  I32,
  op,
  splatConst,
  uleb,
  V128,
  vec,
} from './wasm-asm.js';

/** A function body: its locals (after the parameters), then the code. */
function body(locals: [number, number][], code: number[]): number[] {
  const fn = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, ...op.end];
  return [...uleb(fn.length), ...fn];
}

/** v128.load of base + row + j (three i32 locals: the addresses are byte offsets). */
const load3 = (base: number, row: number, j: number) => [
  ...op.get(base),
  ...op.get(row),
  ...op.add,
  ...op.get(j),
  ...op.add,
  ...op.v128Load,
];
/** The address base + row + j on the stack (a store's first operand). */
const at3 = (base: number, row: number, j: number) => [
  ...op.get(base),
  ...op.get(row),
  ...op.add,
  ...op.get(j),
  ...op.add,
];
const load2 = (base: number, j: number) => [
  ...op.get(base),
  ...op.get(j),
  ...op.add,
  ...op.v128Load,
];
const at2 = (base: number, j: number) => [...op.get(base), ...op.get(j), ...op.add];

/** The f32 sum of the lanes of a v128 local: (l0 + l1) + (l2 + l3). */
const hsum = (v: number) => [
  ...op.get(v),
  ...op.lane(0),
  ...op.get(v),
  ...op.lane(1),
  ...op.f32Add,
  ...op.get(v),
  ...op.lane(2),
  ...op.get(v),
  ...op.lane(3),
  ...op.f32Add,
  ...op.f32Add,
];

/**
 * Element-wise loop over `count` (a local) elements: the inputs' values are loaded into their
 * v128 locals, `compute` sets the outputs' locals, which are stored; four lanes at a time, then
 * the last count % 4 elements one by one (splat in, lane 0 out: the same arithmetic). A
 * compute that reduces (a sum, a max) is given the width, to fold lane 0 only in the tail.
 */
function mapLoop(
  idx: number,
  count: number,
  ins: [ptr: number, val: number][],
  compute: number[] | ((width: 4 | 1) => number[]),
  outs: [ptr: number, val: number][],
): number[] {
  const computeAt = typeof compute === 'function' ? compute : () => compute;
  const at = (ptr: number) => [...op.get(ptr), ...op.get(idx), ...op.i32(2), ...op.shl, ...op.add];
  const loop = (width: 4 | 1) => [
    ...op.block,
    ...op.loop,
    ...op.get(idx),
    ...op.i32(width),
    ...op.add,
    ...op.get(count),
    ...op.gtU,
    ...op.brIf(1),
    ...ins.flatMap(([ptr, val]) =>
      width === 4
        ? [...at(ptr), ...op.v128Load, ...op.set(val)]
        : [...at(ptr), ...op.f32Load, ...op.splat, ...op.set(val)],
    ),
    ...computeAt(width),
    ...outs.flatMap(([ptr, val]) =>
      width === 4
        ? [...at(ptr), ...op.get(val), ...op.v128Store]
        : [...at(ptr), ...op.get(val), ...op.lane0, ...op.f32Store],
    ),
    ...op.get(idx),
    ...op.i32(width),
    ...op.add,
    ...op.set(idx),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  return [...op.i32(0), ...op.set(idx), ...loop(4), ...loop(1)];
}

function layerNormBody(): number[] {
  const [X, GAMMA, BETA, Y, XHAT, RSTD, ROWS, H, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [ROW, J, XR, HB] = [9, 10, 11, 12];
  const [MEAN, R] = [13, 14];
  const [ACC, T, MV, RV] = [15, 16, 17, 18];
  const fh = [...op.get(H), ...op.f32ConvertU];
  const code = [
    ...op.get(H),
    ...op.i32(2),
    ...op.shl,
    ...op.set(HB),
    ...forUp(ROW, op.get(ROWS), [
      ...op.get(ROW),
      ...op.get(HB),
      ...op.mul,
      ...op.set(XR),
      ...op.zero,
      ...op.set(ACC),
      ...forStep(J, op.get(HB), 16, [
        ...op.get(ACC),
        ...load3(X, XR, J),
        ...op.f32x4Add,
        ...op.set(ACC),
      ]),
      ...hsum(ACC),
      ...fh,
      ...op.f32Div,
      ...op.tee(MEAN),
      ...op.splat,
      ...op.set(MV),
      ...op.zero,
      ...op.set(ACC),
      ...forStep(J, op.get(HB), 16, [
        ...load3(X, XR, J),
        ...op.get(MV),
        ...op.f32x4Sub,
        ...op.tee(T),
        ...op.get(T),
        ...op.f32x4Mul,
        ...op.get(ACC),
        ...op.f32x4Add,
        ...op.set(ACC),
      ]),
      ...op.f32Const(1),
      ...hsum(ACC),
      ...fh,
      ...op.f32Div,
      ...op.get(EPS),
      ...op.f32Add,
      ...op.f32Sqrt,
      ...op.f32Div,
      ...op.set(R),
      // rstd[row] = r
      ...f32Address(op.get(RSTD), op.get(ROW)),
      ...op.get(R),
      ...op.f32Store,
      ...op.get(R),
      ...op.splat,
      ...op.set(RV),
      ...forStep(J, op.get(HB), 16, [
        ...load3(X, XR, J),
        ...op.get(MV),
        ...op.f32x4Sub,
        ...op.get(RV),
        ...op.f32x4Mul,
        ...op.set(T),
        ...at3(XHAT, XR, J),
        ...op.get(T),
        ...op.v128Store,
        ...at3(Y, XR, J),
        ...op.get(T),
        ...load2(GAMMA, J),
        ...op.f32x4Mul,
        ...load2(BETA, J),
        ...op.f32x4Add,
        ...op.v128Store,
      ]),
    ]),
  ];
  return body(
    [
      [4, I32],
      [2, F32],
      [4, V128],
    ],
    code,
  );
}

function layerNormGradBody(): number[] {
  const [DY, XHAT, RSTD, GAMMA, DX, DGAMMA, DBETA, ROWS, H] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [ROW, J, XR, HB] = [9, 10, 11, 12];
  const [A1, A2, G, D, XH, M1, M2, RV] = [13, 14, 15, 16, 17, 18, 19, 20];
  const fh = [...op.get(H), ...op.f32ConvertU];
  const meanOf = (acc: number, into: number) => [
    ...hsum(acc),
    ...fh,
    ...op.f32Div,
    ...op.splat,
    ...op.set(into),
  ];
  const code = [
    ...op.get(H),
    ...op.i32(2),
    ...op.shl,
    ...op.set(HB),
    ...forStep(J, op.get(HB), 16, [
      ...at2(DGAMMA, J),
      ...op.zero,
      ...op.v128Store,
      ...at2(DBETA, J),
      ...op.zero,
      ...op.v128Store,
    ]),
    ...forUp(ROW, op.get(ROWS), [
      ...op.get(ROW),
      ...op.get(HB),
      ...op.mul,
      ...op.set(XR),
      ...op.zero,
      ...op.set(A1),
      ...op.zero,
      ...op.set(A2),
      ...forStep(J, op.get(HB), 16, [
        ...load3(DY, XR, J),
        ...op.set(D),
        ...load3(XHAT, XR, J),
        ...op.set(XH),
        ...op.get(D),
        ...load2(GAMMA, J),
        ...op.f32x4Mul,
        ...op.tee(G),
        ...op.get(A1),
        ...op.f32x4Add,
        ...op.set(A1),
        ...op.get(G),
        ...op.get(XH),
        ...op.f32x4Mul,
        ...op.get(A2),
        ...op.f32x4Add,
        ...op.set(A2),
        ...at2(DGAMMA, J),
        ...load2(DGAMMA, J),
        ...op.get(D),
        ...op.get(XH),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.v128Store,
        ...at2(DBETA, J),
        ...load2(DBETA, J),
        ...op.get(D),
        ...op.f32x4Add,
        ...op.v128Store,
      ]),
      ...meanOf(A1, M1),
      ...meanOf(A2, M2),
      ...f32Address(op.get(RSTD), op.get(ROW)),
      ...op.f32Load,
      ...op.splat,
      ...op.set(RV),
      ...forStep(J, op.get(HB), 16, [
        ...at3(DX, XR, J),
        ...load3(DY, XR, J),
        ...load2(GAMMA, J),
        ...op.f32x4Mul,
        ...op.get(M1),
        ...op.f32x4Sub,
        ...load3(XHAT, XR, J),
        ...op.get(M2),
        ...op.f32x4Mul,
        ...op.f32x4Sub,
        ...op.get(RV),
        ...op.f32x4Mul,
        ...op.v128Store,
      ]),
    ]),
  ];
  return body(
    [
      [4, I32],
      [8, V128],
    ],
    code,
  );
}

/** sqrt(2 / pi): d/dx of erf(x / sqrt 2) is sqrt(2 / pi) exp(-x^2 / 2). */
const GELU_GRAD_C = Math.sqrt(2 / Math.PI);

function geluBody(): number[] {
  const [X, Y, PHI, COUNT] = [0, 1, 2, 3];
  const IDX = 4;
  const [XV, YV, T0, T1, E1, PV] = [5, 6, 7, 8, 9, 10];
  const compute = [
    // e1 = erf(x / sqrt 2) + 1;  y = (x / 2) e1;  phi = e1 / 2 (the gradient's first term)
    ...op.get(XV),
    ...splatConst(Math.SQRT1_2),
    ...op.f32x4Mul,
    ...erfOfStack(T0, T1),
    ...splatConst(1),
    ...op.f32x4Add,
    ...op.set(E1),
    ...op.get(XV),
    ...splatConst(0.5),
    ...op.f32x4Mul,
    ...op.get(E1),
    ...op.f32x4Mul,
    ...op.set(YV),
    ...op.get(E1),
    ...splatConst(0.5),
    ...op.f32x4Mul,
    ...op.set(PV),
  ];
  return body(
    [
      [1, I32],
      [6, V128],
    ],
    mapLoop(IDX, COUNT, [[X, XV]], compute, [
      [Y, YV],
      [PHI, PV],
    ]),
  );
}

function geluGradBody(): number[] {
  const [X, PHI, DY, DX, COUNT] = [0, 1, 2, 3, 4];
  const IDX = 5;
  const [XV, PV, DV, OV, U, T0, T1, T2, T3] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const compute = [
    ...op.get(XV),
    ...splatConst(Math.SQRT1_2),
    ...op.f32x4Mul,
    ...op.tee(U),
    ...op.get(U),
    ...op.f32x4Mul,
    ...op.f32x4Neg,
    ...expNonPositiveOfStack(T0, T1, T2, T3),
    ...op.set(U), // U now holds exp(-u^2)
    // dy (phi + (x / 2) exp(-u^2) sqrt(2 / pi)), phi = (1 + erf(u)) / 2 from the forward pass
    ...op.get(DV),
    ...op.get(PV),
    ...op.get(XV),
    ...splatConst(0.5),
    ...op.f32x4Mul,
    ...op.get(U),
    ...op.f32x4Mul,
    ...splatConst(GELU_GRAD_C),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.f32x4Mul,
    ...op.set(OV),
  ];
  return body(
    [
      [1, I32],
      [9, V128],
    ],
    mapLoop(
      IDX,
      COUNT,
      [
        [X, XV],
        [PHI, PV],
        [DY, DV],
      ],
      compute,
      [[DX, OV]],
    ),
  );
}

function adamwBody(): number[] {
  const [TABLE, COUNT] = [0, 1];
  const [B1, C1, B2, C2, BC1, BC2, EPS, WD, LR] = [2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [E, IDX, TP, PP, MP, VP, GP, OP, OM, OV, CNT] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
  ];
  const S = [22, 23, 24, 25, 26, 27, 28, 29, 30]; // the nine scalars, splat
  const [SB1, SC1, SB2, SC2, SBC1, SBC2, SEPS, SWD, SLR] = S;
  const [P, M, V, G, M1, V1, P1] = [31, 32, 33, 34, 35, 36, 37];
  const scalars = [B1, C1, B2, C2, BC1, BC2, EPS, WD, LR];
  const compute = [
    // m' = m b1 + g (1 - b1)
    ...op.get(M),
    ...op.get(SB1),
    ...op.f32x4Mul,
    ...op.get(G),
    ...op.get(SC1),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(M1),
    // v' = v b2 + g^2 (1 - b2)
    ...op.get(V),
    ...op.get(SB2),
    ...op.f32x4Mul,
    ...op.get(G),
    ...op.get(G),
    ...op.f32x4Mul,
    ...op.get(SC2),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(V1),
    // p' = p - lr ((m' / bc1) / (sqrt(v' / bc2) + eps) + wd p)
    ...op.get(P),
    ...op.get(M1),
    ...op.get(SBC1),
    ...op.f32x4Div,
    ...op.get(V1),
    ...op.get(SBC2),
    ...op.f32x4Div,
    ...op.f32x4Sqrt,
    ...op.get(SEPS),
    ...op.f32x4Add,
    ...op.f32x4Div,
    ...op.get(P),
    ...op.get(SWD),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.get(SLR),
    ...op.f32x4Mul,
    ...op.f32x4Sub,
    ...op.set(P1),
  ];
  const code = [
    ...scalars.flatMap((s, i) => [...op.get(s), ...op.splat, ...op.set(S[i])]),
    ...forUp(E, op.get(COUNT), [
      ...op.get(TABLE),
      ...op.get(E),
      ...op.i32(5),
      ...op.shl,
      ...op.add,
      ...op.set(TP),
      ...[PP, MP, VP, GP, OP, OM, OV, CNT].flatMap((l, i) => [
        ...op.get(TP),
        ...op.i32Load(4 * i),
        ...op.set(l),
      ]),
      ...mapLoop(
        IDX,
        CNT,
        [
          [PP, P],
          [MP, M],
          [VP, V],
          [GP, G],
        ],
        compute,
        [
          [OP, P1],
          [OM, M1],
          [OV, V1],
        ],
      ),
    ]),
  ];
  return body(
    [
      [11, I32],
      [16, V128],
    ],
    code,
  );
}

function colSumBody(): number[] {
  const [X, Y, ROWS, N] = [0, 1, 2, 3];
  const [ROW, IDX, XR] = [4, 5, 6];
  const [XV, YV] = [7, 8];
  const code = [
    // y = 0, then y += each row of x (rows in order).
    ...mapLoop(IDX, N, [], [...op.zero, ...op.set(YV)], [[Y, YV]]),
    ...forUp(ROW, op.get(ROWS), [
      ...f32Address(op.get(X), [...op.get(ROW), ...op.get(N), ...op.mul]),
      ...op.set(XR),
      ...mapLoop(
        IDX,
        N,
        [
          [XR, XV],
          [Y, YV],
        ],
        [...op.get(YV), ...op.get(XV), ...op.f32x4Add, ...op.set(YV)],
        [[Y, YV]],
      ),
    ]),
  ];
  return body(
    [
      [3, I32],
      [2, V128],
    ],
    code,
  );
}

function addRowBody(): number[] {
  const [Y, B, ROWS, N] = [0, 1, 2, 3];
  const [ROW, IDX, YR] = [4, 5, 6];
  const [YV, BV] = [7, 8];
  const code = forUp(ROW, op.get(ROWS), [
    ...f32Address(op.get(Y), [...op.get(ROW), ...op.get(N), ...op.mul]),
    ...op.set(YR),
    ...mapLoop(
      IDX,
      N,
      [
        [YR, YV],
        [B, BV],
      ],
      [...op.get(YV), ...op.get(BV), ...op.f32x4Add, ...op.set(YV)],
      [[YR, YV]],
    ),
  ]);
  return body(
    [
      [3, I32],
      [2, V128],
    ],
    code,
  );
}

/** Row pointer: base + row * n * 4 into `into`. */
const rowPtr = (base: number, row: number[], n: number, into: number) => [
  ...op.get(base),
  ...row,
  ...op.get(n),
  ...op.mul,
  ...op.i32(2),
  ...op.shl,
  ...op.add,
  ...op.set(into),
];

/**
 * Folds the v128 local `v` into a reduction: all lanes into `vacc` (width 4), or lane 0 into
 * the f32 `sacc` (width 1, the tail's splat).
 */
const fold = (width: 4 | 1, v: number, vacc: number, sacc: number, vop: number[], sop: number[]) =>
  width === 4
    ? [...op.get(vacc), ...op.get(v), ...vop, ...op.set(vacc)]
    : [...op.get(sacc), ...op.get(v), ...op.lane0, ...sop, ...op.set(sacc)];

function scaleBiasBody(): number[] {
  const [S, BIAS, Z, ROWS, RPB, N, SCALE] = [0, 1, 2, 3, 4, 5, 6];
  const [ROW, IDX, SR, BR, ZR] = [7, 8, 9, 10, 11];
  const [SV, BV, ZV, SC] = [12, 13, 14, 15];
  const code = [
    ...op.get(SCALE),
    ...op.splat,
    ...op.set(SC),
    ...forUp(ROW, op.get(ROWS), [
      ...rowPtr(S, op.get(ROW), N, SR),
      ...rowPtr(Z, op.get(ROW), N, ZR),
      ...rowPtr(BIAS, [...op.get(ROW), ...op.get(RPB), ...op.divU], N, BR),
      ...mapLoop(
        IDX,
        N,
        [
          [SR, SV],
          [BR, BV],
        ],
        [
          ...op.get(SV),
          ...op.get(SC),
          ...op.f32x4Mul,
          ...op.get(BV),
          ...op.f32x4Add,
          ...op.set(ZV),
        ],
        [[ZR, ZV]],
      ),
    ]),
  ];
  return body(
    [
      [5, I32],
      [4, V128],
    ],
    code,
  );
}

function softmaxGradBody(): number[] {
  const [Y, DY, DX, ROWS, N, SCALE] = [0, 1, 2, 3, 4, 5];
  const [ROW, IDX, YR, DR, XR] = [6, 7, 8, 9, 10];
  const SSUM = 11;
  const [YV, DV, T, VSUM, SC, XV] = [12, 13, 14, 15, 16, 17];
  const code = [
    ...op.get(SCALE),
    ...op.splat,
    ...op.set(SC),
    ...forUp(ROW, op.get(ROWS), [
      ...rowPtr(Y, op.get(ROW), N, YR),
      ...rowPtr(DY, op.get(ROW), N, DR),
      ...rowPtr(DX, op.get(ROW), N, XR),
      // sum of dy y
      ...op.zero,
      ...op.set(VSUM),
      ...op.f32Const(0),
      ...op.set(SSUM),
      ...mapLoop(
        IDX,
        N,
        [
          [YR, YV],
          [DR, DV],
        ],
        (w) => [
          ...op.get(DV),
          ...op.get(YV),
          ...op.f32x4Mul,
          ...op.set(T),
          ...fold(w, T, VSUM, SSUM, op.f32x4Add, op.f32Add),
        ],
        [],
      ),
      ...hsum(VSUM),
      ...op.get(SSUM),
      ...op.f32Add,
      ...op.splat,
      ...op.set(VSUM),
      // dx = (dy y - sum y) scale
      ...mapLoop(
        IDX,
        N,
        [
          [YR, YV],
          [DR, DV],
        ],
        [
          ...op.get(DV),
          ...op.get(YV),
          ...op.f32x4Mul,
          ...op.get(VSUM),
          ...op.get(YV),
          ...op.f32x4Mul,
          ...op.f32x4Sub,
          ...op.get(SC),
          ...op.f32x4Mul,
          ...op.set(XV),
        ],
        [[XR, XV]],
      ),
    ]),
  ];
  return body(
    [
      [5, I32],
      [1, F32],
      [6, V128],
    ],
    code,
  );
}

function addInPlaceBody(): number[] {
  const [Y, R, COUNT] = [0, 1, 2];
  const IDX = 3;
  const [YV, RV] = [4, 5];
  return body(
    [
      [1, I32],
      [2, V128],
    ],
    mapLoop(
      IDX,
      COUNT,
      [
        [Y, YV],
        [R, RV],
      ],
      [...op.get(YV), ...op.get(RV), ...op.f32x4Add, ...op.set(YV)],
      [[Y, YV]],
    ),
  );
}

/**
 * The module's bytes: imports env.memory (shared: the threaded build's memory, see
 * wasm-simd.ts), exports the kernels above.
 */
export function fusedModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => new Array<number>(n).fill(I32);
  const types = [
    fnType([...i32s(8), F32]), // 0 layerNorm
    fnType(i32s(9)), // 1 layerNormGrad
    fnType(i32s(4)), // 2 gelu, colSum, addRow
    fnType(i32s(5)), // 3 geluGrad
    fnType([...i32s(2), ...new Array<number>(9).fill(F32)]), // 4 adamw
    fnType([...i32s(6), F32]), // 5 scaleBias
    fnType([...i32s(5), F32]), // 6 softmaxGrad
    fnType(i32s(3)), // 7 addInPlace
  ];
  const fns: [string, number, number[]][] = [
    ['layerNorm', 0, layerNormBody()],
    ['layerNormGrad', 1, layerNormGradBody()],
    ['gelu', 2, geluBody()],
    ['geluGrad', 3, geluGradBody()],
    ['adamw', 4, adamwBody()],
    ['colSum', 2, colSumBody()],
    ['addRow', 2, addRowBody()],
    ['scaleBias', 5, scaleBiasBody()],
    ['softmaxGrad', 6, softmaxGradBody()],
    ['addInPlace', 7, addInPlaceBody()],
  ];
  return kernelModule(types, fns, shared);
}

export interface FusedKernels {
  layerNorm(
    x: number,
    gamma: number,
    beta: number,
    y: number,
    xhat: number,
    rstd: number,
    rows: number,
    h: number,
    eps: number,
  ): void;
  layerNormGrad(
    dy: number,
    xhat: number,
    rstd: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    h: number,
  ): void;
  gelu(x: number, y: number, phi: number, count: number): void;
  /** y[j] = sum over rows r of x[r, j] (x row-major [rows, n]). */
  colSum(x: number, y: number, rows: number, n: number): void;
  scaleBias(
    s: number,
    bias: number,
    z: number,
    rows: number,
    rowsPerBias: number,
    n: number,
    scale: number,
  ): void;
  softmaxGrad(y: number, dy: number, dx: number, rows: number, n: number, scale: number): void;
  /** y += r element-wise, in place. */
  addInPlace(y: number, r: number, count: number): void;
  /** y[r, j] += b[j], in place (y row-major [rows, n]). */
  addRow(y: number, b: number, rows: number, n: number): void;
  geluGrad(x: number, phi: number, dy: number, dx: number, count: number): void;
  adamw(
    table: number,
    count: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    bc1: number,
    bc2: number,
    eps: number,
    wd: number,
    lr: number,
  ): void;
}

/** Instantiates the kernels on `memory`; null without WebAssembly SIMD (callers fall back). */
export function instantiateFused(memory: WebAssembly.Memory): FusedKernels | null {
  return instantiateOn(memory, fusedModuleBytes) as unknown as FusedKernels | null;
}
