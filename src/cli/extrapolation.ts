/**
 * Length extrapolation of a model trained on induction heads: accuracy at the training length T
 * and at 2T, 4T, ... on fresh sequences.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Rng } from '../tasks/rng';
import type { Task } from '../tasks/types';
import { evaluate } from './evaluate';
import { pct } from './progress';

/** Accuracy at one test length. */
export interface ExtrapolationRow {
  factor: number;
  length: number;
  accuracy: number;
  loss: number;
}

/** Default test lengths as multiples of the training length. */
export const EXTRAPOLATION_FACTORS = [1, 2, 4, 8, 16];

/**
 * Evaluates `nSeq` fresh sequences at each length factor * T.
 * @param seed seeds the test sequences (each length gets its own stream).
 */
export async function evaluateExtrapolation(
  model: LayersModel,
  task: Task,
  nSeq: number,
  seed: number,
  factors: number[] = EXTRAPOLATION_FACTORS,
  onRow?: (row: ExtrapolationRow) => void,
): Promise<ExtrapolationRow[]> {
  const rows: ExtrapolationRow[] = [];
  for (const factor of factors) {
    const length = task.seqLen * factor;
    const r = await evaluate(model, task, new Rng(seed * 7919 + factor), nSeq, { length });
    const row = { factor, length, accuracy: r.accuracy, loss: r.loss };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatExtrapolationTable(rows: ExtrapolationRow[], trainLength: number): string {
  const lines = [`train length T = ${trainLength}`, 'length   factor   accuracy', '-------  -------  --------'];
  for (const r of rows) lines.push(`${String(r.length).padEnd(7)}  ${`${r.factor}T`.padEnd(7)}  ${pct(r.accuracy).padStart(8)}`);
  return lines.join('\n');
}
