/** A small line chart on a <canvas>: loss (left axis, log scale) and accuracy (right axis, 0–1) per step. */

export interface Point {
  step: number;
  loss: number;
  accuracy: number;
}

/** Draws every point; called after each step. */
export function drawChart(canvas: HTMLCanvasElement, points: Point[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  const pad = { l: 44, r: 40, t: 12, b: 24 };
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px sans-serif';
  ctx.strokeStyle = '#999';
  ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  if (points.length === 0) return;
  const maxStep = Math.max(10, points[points.length - 1].step);
  const losses = points.map((p) => Math.log10(Math.max(p.loss, 1e-4)));
  const lo = Math.floor(Math.min(...losses));
  const hi = Math.max(lo + 1, Math.ceil(Math.max(...losses)));
  const x = (s: number): number => pad.l + (s / maxStep) * (w - pad.l - pad.r);
  const yLoss = (v: number): number => pad.t + ((hi - v) / (hi - lo)) * (h - pad.t - pad.b);
  const yAcc = (a: number): number => pad.t + (1 - a) * (h - pad.t - pad.b);
  const line = (color: string, y: (i: number) => number): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.step), y(i)) : ctx.lineTo(x(p.step), y(i))));
    ctx.stroke();
  };
  line('#c0392b', (i) => yLoss(losses[i]));
  line('#2471a3', (i) => yAcc(points[i].accuracy));
  ctx.fillStyle = '#c0392b';
  for (let v = lo; v <= hi; v++) ctx.fillText(`1e${v}`, 4, yLoss(v) + 4);
  ctx.fillStyle = '#2471a3';
  for (const a of [0, 0.5, 1]) ctx.fillText(a.toFixed(1), w - pad.r + 6, yAcc(a) + 4);
  ctx.fillStyle = '#333';
  ctx.fillText(`step ${maxStep}`, w - pad.r - 50, h - 6);
  ctx.fillText('loss (red, log)   answer accuracy (blue)', pad.l + 8, h - 6);
}
