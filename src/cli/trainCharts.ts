/**
 * The charts a training run writes beside its checkpoint: loss and accuracy vs step, and for
 * induction heads, accuracy vs test length.
 */
import { writeChart, type Series } from './chart';
import type { TrainHistory } from './trainCheckpoint';
import type { ExtrapolationRow } from './extrapolation';

/** Moving average over a trailing window (keeps the length). */
export function smooth(values: number[], window: number): number[] {
  if (window <= 1) return values.slice();
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** A fraction as a percentage. */
const percent = (v: number[]): number[] => v.map((a) => 100 * a);

/** What the accuracy of a task's chart counts: next bytes for text, answer tokens for the synthetic tasks. */
export function accuracyTitle(task: string): string {
  return task === 'text' ? 'next-byte accuracy' : 'answer accuracy';
}

/** Writes loss (left) and accuracy in % (right) vs step; returns the file written. */
export function writeTrainingChart(file: string, history: TrainHistory, title: string): string {
  const tr = history.train;
  const va = history.val;
  const w = Math.max(1, Math.round(tr.step.length / 100));
  const trainName = w > 1 ? `train (mean of ${w})` : 'train';
  const loss: Series[] = [{ name: trainName, x: tr.step, y: smooth(tr.loss, w), markers: false }];
  const acc: Series[] = [{ name: trainName, x: tr.step, y: percent(smooth(tr.accuracy, w)), markers: false }];
  if (va.step.length) {
    loss.push({ name: 'validation', x: va.step, y: va.loss, dashed: true });
    acc.push({ name: 'validation', x: va.step, y: percent(va.accuracy), dashed: true });
  }
  return writeChart(
    file,
    [
      { title: `${title}: loss`, xLabel: 'step', yLabel: 'cross-entropy', yMin: 0, series: loss },
      { title: `${title}: ${accuracyTitle(title)}`, xLabel: 'step', yLabel: 'accuracy (%)', yMin: 0, yMax: 100, series: acc },
    ],
    { columns: 2 },
  );
}

/**
 * Writes accuracy (%) vs test length (log2 axis) for induction heads, each point labelled with its value and the
 * axis running to 110 % so that points at 100 % and a drop just below stay apart from the frame; returns the file.
 */
export function writeExtrapolationChart(file: string, rows: ExtrapolationRow[], trainLength: number): string {
  const x = rows.map((r) => r.length);
  return writeChart(file, {
    title: `Induction heads: extrapolation (trained at T=${trainLength})`,
    xLabel: 'test sequence length',
    yLabel: 'accuracy (%)',
    xAxis: 'log2',
    yMin: 0,
    yMax: 110,
    yTicks: 6,
    series: [{ name: 'accuracy', x, y: rows.map((r) => 100 * r.accuracy), labels: (v) => `${Number(v.toFixed(1))} %` }],
  });
}
