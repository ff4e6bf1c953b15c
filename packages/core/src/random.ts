/** Seeded PRNG (mulberry32): every stochastic component takes a seed, never Math.random. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draw from a uniform source (Box-Muller). */
export function gaussian(rand: () => number): number {
  let u = 0;
  while (u === 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** In-place Fisher-Yates shuffle. */
export function shuffleInPlace<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * A seed derived from a base seed, a round and a tag (a site name, a purpose), so random
 * choices differ across rounds, sites and purposes but replay exactly (FNV-1a over the parts).
 * The one seed-hashing rule of the code base.
 */
export function deriveSeed(seed: number, round: number, tag = ''): number {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const v of [seed >>> 0, round >>> 0]) for (let k = 0; k < 4; k++) mix(v >>> (8 * k));
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    mix(c);
    mix(c >>> 8);
  }
  return h | 0;
}
