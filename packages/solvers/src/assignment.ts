/**
 * Best importance for fixed layer counts: given how many clients train each layer (n_l) and the
 * per-client budgets B_i, choose m[i][l] in {0,1} with sum_i m[i][l] = n_l and
 * sum_l m[i][l] <= B_i maximising sum m[i][l] S_i[l]. Since V depends on n only, the result has
 * the same V as any mask with these counts and the highest possible I: the exact
 * "importance polish" of a front point. Solved as a min-cost max-flow (source -> client, cap B_i;
 * client -> layer, cap 1, cost -S_i[l]; layer -> sink, cap n_l) by successive shortest paths
 * with Bellman-Ford/SPFA (negative costs, no negative cycles in the residual graph of a
 * min-cost flow). Sizes here are tiny (9 + 24 nodes, <= 45 units of flow).
 */
export function bestAssignmentForCounts(
  scores: readonly (readonly number[])[],
  budgets: readonly number[],
  counts: readonly number[],
): number[][] | null {
  const C = scores.length;
  const L = counts.length;
  const N = C + L + 2;
  const src = C + L;
  const snk = C + L + 1;
  const to: number[] = [];
  const cap: number[] = [];
  const cost: number[] = [];
  const head = new Int32Array(N).fill(-1);
  const next: number[] = [];
  const addEdge = (u: number, v: number, c: number, w: number): void => {
    for (const [a, b, c2, w2] of [
      [u, v, c, w],
      [v, u, 0, -w],
    ]) {
      to.push(b);
      cap.push(c2);
      cost.push(w2);
      next.push(head[a]);
      head[a] = to.length - 1;
    }
  };
  for (let i = 0; i < C; i++) addEdge(src, i, budgets[i], 0);
  const cell = new Int32Array(C * L);
  for (let i = 0; i < C; i++) {
    for (let l = 0; l < L; l++) {
      addEdge(i, C + l, 1, -scores[i][l]);
      cell[i * L + l] = to.length - 2;
    }
  }
  let need = 0;
  for (let l = 0; l < L; l++) {
    if (counts[l] > 0) addEdge(C + l, snk, counts[l], 0);
    need += counts[l];
  }
  const dist = new Float64Array(N);
  const inQueue = new Uint8Array(N);
  const prevEdge = new Int32Array(N);
  const queue: number[] = [];
  let flow = 0;
  while (flow < need) {
    dist.fill(Infinity);
    prevEdge.fill(-1);
    dist[src] = 0;
    queue.length = 0;
    queue.push(src);
    inQueue[src] = 1;
    for (let qi = 0; qi < queue.length; qi++) {
      const u = queue[qi];
      inQueue[u] = 0;
      for (let e = head[u]; e !== -1; e = next[e]) {
        if (cap[e] <= 0) continue;
        const v = to[e];
        const d = dist[u] + cost[e];
        if (d < dist[v] - 1e-15) {
          dist[v] = d;
          prevEdge[v] = e;
          if (!inQueue[v]) {
            inQueue[v] = 1;
            queue.push(v);
          }
        }
      }
    }
    if (dist[snk] === Infinity) return null; // counts not reachable within the budgets
    // Unit capacities on client -> layer edges: augment by one unit.
    for (let v = snk; v !== src; v = to[prevEdge[v] ^ 1]) {
      cap[prevEdge[v]] -= 1;
      cap[prevEdge[v] ^ 1] += 1;
    }
    flow++;
  }
  const masks: number[][] = [];
  for (let i = 0; i < C; i++) {
    const row = new Array<number>(L).fill(0);
    for (let l = 0; l < L; l++) if (cap[cell[i * L + l]] === 0) row[l] = 1;
    masks.push(row);
  }
  return masks;
}
