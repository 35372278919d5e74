// Minimum-cost assignment (Hungarian / Kuhn–Munkres) on a rectangular cost matrix, in the
// shortest-augmenting-path form with row and column potentials: one Dijkstra-like sweep per row,
// O(n² m) for n ≤ m rows. A wider-than-tall matrix is solved as its transpose.
import { finite, nonEmpty } from "./check.ts";

export interface Assignment {
  /** column assigned to each row; −1 for the rows left over when there are more rows than columns */
  rowToCol: Int32Array;
  /** total cost of the assigned cells */
  cost: number;
}

/**
 * Assigns min(rows, cols) rows to distinct columns with the least total cost. `cost[i][j]` is the
 * cost of row i taking column j; every row must have the same length and finite entries.
 */
export function hungarian(cost: ArrayLike<number>[]): Assignment {
  const fn = "hungarian";
  nonEmpty(fn, "cost", cost);
  const rows = cost.length, cols = cost[0].length;
  if (cols === 0) throw new Error(`${fn}: cost[0] is empty; the matrix needs at least one column`);
  cost.forEach((row, i) => {
    if (row.length !== cols) throw new Error(`${fn}: cost[${i}] has ${row.length} entries but cost[0] has ${cols}`);
    finite(fn, `cost[${i}]`, row);
  });
  const flip = rows > cols;
  const n = flip ? cols : rows, m = flip ? rows : cols;
  const at = flip ? (i: number, j: number) => cost[j][i] : (i: number, j: number) => cost[i][j];

  // 1-based, index 0 is the virtual start column; colRow[j] = row (1-based) holding column j, 0 if free
  const u = new Float64Array(n + 1), v = new Float64Array(m + 1);
  const colRow = new Int32Array(m + 1), way = new Int32Array(m + 1);
  const minSlack = new Float64Array(m + 1), used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    colRow[0] = i;
    let j0 = 0;
    minSlack.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = colRow[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const slack = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (slack < minSlack[j]) {
          minSlack[j] = slack;
          way[j] = j0;
        }
        if (minSlack[j] < delta) {
          delta = minSlack[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[colRow[j]] += delta;
          v[j] -= delta;
        } else minSlack[j] -= delta;
      }
      j0 = j1;
    } while (colRow[j0] !== 0);
    do { // flip the augmenting path back to the start
      const j1 = way[j0];
      colRow[j0] = colRow[j1];
      j0 = j1;
    } while (j0 !== 0);
  }

  const rowToCol = new Int32Array(rows).fill(-1);
  for (let j = 1; j <= m; j++) {
    if (colRow[j] === 0) continue;
    if (flip) rowToCol[j - 1] = colRow[j] - 1;
    else rowToCol[colRow[j] - 1] = j - 1;
  }
  let total = 0;
  rowToCol.forEach((j, i) => {
    if (j >= 0) total += cost[i][j];
  });
  return { rowToCol, cost: total };
}
