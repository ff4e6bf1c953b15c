/**
 * Exact eigen-decomposition of a small symmetric matrix by the cyclic Jacobi method
 * (Golub & Van Loan, Matrix Computations, 4th ed., §8.5). Used for lambda_1 of the per-layer
 * NTK Gram G_l = J_l J_l^T (docs/method.md §1): G_l is (n*kappa) x (n*kappa) with n <= 64, so an
 * O(m^3)-per-sweep method in float64 is both exact and cheap, and has no convergence tuning
 * (unlike power iteration, whose rate depends on the unknown gap lambda_1 / lambda_2).
 */

export interface SymmetricEigen {
  /** Eigenvalues in descending order. */
  values: Float64Array;
  /** Row-major m x m; column j is the unit eigenvector of values[j]. Only when asked for. */
  vectors?: Float64Array;
  /** Number of sweeps the rotation loop ran. */
  sweeps: number;
}

export interface JacobiOptions {
  /** Stop when the off-diagonal Frobenius norm falls below tol * ||A||_F. Default 1e-14. */
  tol?: number;
  maxSweeps?: number;
  vectors?: boolean;
}

/**
 * Eigenvalues (and optionally eigenvectors) of the symmetric m x m matrix `a` (row-major).
 * `a` is not modified. Throws on non-square size, non-finite entries or asymmetry larger than
 * 1e-8 relative (a Gram matrix built in float64 is symmetric to rounding).
 */
export function jacobiEigen(
  a: ArrayLike<number>,
  m: number,
  opts: JacobiOptions = {},
): SymmetricEigen {
  if (!Number.isInteger(m) || m < 0) throw new Error(`jacobiEigen: size m must be >= 0, got ${m}`);
  if (a.length !== m * m)
    throw new Error(`jacobiEigen: matrix has ${a.length} entries, expected m*m = ${m * m}`);
  const tol = opts.tol ?? 1e-14;
  const maxSweeps = opts.maxSweeps ?? 100;
  const A = Float64Array.from(a);
  let frob = 0;
  for (let i = 0; i < m * m; i++) {
    if (!Number.isFinite(A[i])) throw new Error(`jacobiEigen: entry ${i} is not finite (${A[i]})`);
    frob += A[i] * A[i];
  }
  frob = Math.sqrt(frob);
  for (let i = 0; i < m; i++)
    for (let j = i + 1; j < m; j++) {
      const d = Math.abs(A[i * m + j] - A[j * m + i]);
      if (d > 1e-8 * Math.max(frob, 1e-300))
        throw new Error(`jacobiEigen: matrix is not symmetric at (${i},${j})`);
      const s = 0.5 * (A[i * m + j] + A[j * m + i]);
      A[i * m + j] = s;
      A[j * m + i] = s;
    }
  const V = opts.vectors ? identity(m) : undefined;
  let sweeps = 0;
  const threshold = tol * frob;
  while (sweeps < maxSweeps) {
    let off = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) off += 2 * A[i * m + j] ** 2;
    if (Math.sqrt(off) <= threshold) break;
    sweeps++;
    for (let p = 0; p < m - 1; p++)
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q];
        if (apq === 0) continue;
        rotate(A, V, m, p, q);
      }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => A[j * m + j] - A[i * m + i]);
  const values = Float64Array.from(order, (i) => A[i * m + i]);
  let vectors: Float64Array | undefined;
  if (V) {
    vectors = new Float64Array(m * m);
    for (let r = 0; r < m; r++)
      for (let c = 0; c < m; c++) vectors[r * m + c] = V[r * m + order[c]];
  }
  return { values, vectors, sweeps };
}

/** Largest eigenvalue of a symmetric matrix (0 for the empty matrix). */
export function topEigenvalue(a: ArrayLike<number>, m: number): number {
  if (m === 0) return 0;
  return jacobiEigen(a, m).values[0];
}

function identity(m: number): Float64Array {
  const I = new Float64Array(m * m);
  for (let i = 0; i < m; i++) I[i * m + i] = 1;
  return I;
}

/** One Jacobi rotation zeroing A[p][q] (the numerically stable form, G&VL Alg. 8.5.1). */
function rotate(A: Float64Array, V: Float64Array | undefined, m: number, p: number, q: number) {
  const app = A[p * m + p];
  const aqq = A[q * m + q];
  const apq = A[p * m + q];
  const theta = (aqq - app) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < m; k++) {
    const akp = A[k * m + p];
    const akq = A[k * m + q];
    A[k * m + p] = c * akp - s * akq;
    A[k * m + q] = s * akp + c * akq;
  }
  for (let k = 0; k < m; k++) {
    const apk = A[p * m + k];
    const aqk = A[q * m + k];
    A[p * m + k] = c * apk - s * aqk;
    A[q * m + k] = s * apk + c * aqk;
  }
  if (V)
    for (let k = 0; k < m; k++) {
      const vkp = V[k * m + p];
      const vkq = V[k * m + q];
      V[k * m + p] = c * vkp - s * vkq;
      V[k * m + q] = s * vkp + c * vkq;
    }
}
