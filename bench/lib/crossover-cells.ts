/**
 * Which cells of a crossover result are whose: the seed net's grid and SimpleConvNet's conv axis.
 * Types only from crossover.ts, so the chart (which the demo draws too) pulls in no bench code.
 */
import type { CrossoverCell, CrossoverResult } from './crossover.js';

/** The seed net's cells (those without `net`). */
export function mlpCells(r: CrossoverResult): CrossoverCell[] {
  return r.cells.filter((c) => !c.net);
}

/** Every batch size of the grid and the conv axis, ascending. */
export function crossoverBatches(r: CrossoverResult): number[] {
  return [...new Set([...r.batches, ...(r.convBatches ?? [])])].sort((a, b) => a - b);
}

/** SimpleConvNet's cells, by batch. */
export function convCells(r: CrossoverResult): CrossoverCell[] {
  return r.cells.filter((c) => c.net === 'simple-conv');
}
