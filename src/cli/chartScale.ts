/**
 * Axis scales for the PNG charts: linear or logarithmic (base 10 or 2), with "nice" tick values
 * and compact tick labels.
 */

/** How an axis maps data to pixels. */
export type AxisKind = 'linear' | 'log10' | 'log2';

/** A data-to-pixel mapping with its ticks. */
export interface Scale {
  kind: AxisKind;
  /** Data range shown, [lo, hi]. */
  domain: [number, number];
  /** Pixel position of a data value (values outside the domain map outside the range). */
  map(v: number): number;
  /** Tick values, inside the domain, increasing. */
  ticks: number[];
  /** Tick label of a value. */
  format(v: number): string;
}

/** Short label of a number: 1500 -> "1.5k", 2e6 -> "2M", 0.000125 -> "1.25e-4". */
export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const trim = (x: number): string => String(Number(x.toPrecision(4)));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a < 1e-3) {
    const [m, e] = v.toExponential(2).split('e');
    return `${String(Number(m))}e${Number(e)}`;
  }
  return trim(v);
}

/** The step among 1, 2, 5 x 10^k closest above raw. */
function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Linear scale over [lo, hi] rounded out to nice ticks (about `target` of them). */
function linearScale(lo: number, hi: number, p0: number, p1: number, target: number, fixLo: boolean, fixHi: boolean): Scale {
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / target);
  const dLo = fixLo ? lo : Math.floor(lo / step + 1e-9) * step;
  const dHi = fixHi ? hi : Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = Math.ceil(dLo / step - 1e-9) * step; t <= dHi + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  const k = (p1 - p0) / (dHi - dLo);
  return { kind: 'linear', domain: [dLo, dHi], map: (v) => p0 + (v - dLo) * k, ticks, format: formatNumber };
}

/** Log scale over [lo, hi] (both > 0) rounded out to whole powers of the base. */
function logScale(base: 2 | 10, lo: number, hi: number, p0: number, p1: number, target: number, fixLo: boolean, fixHi: boolean): Scale {
  const lg = (v: number): number => Math.log(v) / Math.log(base);
  let eLo = fixLo ? lg(lo) : Math.floor(lg(lo) + 1e-9);
  let eHi = fixHi ? lg(hi) : Math.ceil(lg(hi) - 1e-9);
  if (eHi <= eLo) {
    eLo -= fixLo ? 0 : 1;
    eHi = eLo + 1;
  }
  const ticks: number[] = [];
  const every = Math.max(1, Math.ceil((Math.floor(eHi) - Math.ceil(eLo)) / (target * 1.6)));
  for (let e = Math.ceil(eLo - 1e-9); e <= eHi + 1e-9; e += every) ticks.push(Math.pow(base, e));
  if (base === 10 && eHi - eLo <= 2) {
    // Few decades: add 2x and 5x ticks so the axis is readable.
    for (let e = Math.floor(eLo); e < eHi; e++) {
      for (const m of [2, 5]) {
        const v = m * Math.pow(10, e);
        if (lg(v) >= eLo - 1e-9 && lg(v) <= eHi + 1e-9) ticks.push(v);
      }
    }
    ticks.sort((a, b) => a - b);
  }
  const k = (p1 - p0) / (eHi - eLo);
  return {
    kind: base === 10 ? 'log10' : 'log2',
    domain: [Math.pow(base, eLo), Math.pow(base, eHi)],
    map: (v) => p0 + (lg(v) - eLo) * k,
    ticks,
    format: formatNumber,
  };
}

/** Options of {@link makeScale}. */
export interface ScaleOptions {
  /** Fixed lower end of the domain (otherwise rounded out from the data). */
  min?: number;
  /** Fixed upper end of the domain. */
  max?: number;
  /** About how many ticks to draw (default 6). */
  ticks?: number;
}

/**
 * Builds a scale for data values `values` (non-finite ones, and non-positive ones on a log axis,
 * are ignored) mapped onto pixels [p0, p1] (p1 < p0 is fine, e.g. for a y axis).
 */
export function makeScale(kind: AxisKind, values: number[], p0: number, p1: number, opts: ScaleOptions = {}): Scale {
  const usable = values.filter((v) => Number.isFinite(v) && (kind === 'linear' || v > 0));
  let lo = opts.min ?? (usable.length ? Math.min(...usable) : kind === 'linear' ? 0 : 1);
  let hi = opts.max ?? (usable.length ? Math.max(...usable) : kind === 'linear' ? 1 : 10);
  if (hi < lo) [lo, hi] = [hi, lo];
  const target = opts.ticks ?? 6;
  if (kind === 'linear') return linearScale(lo, hi, p0, p1, target, opts.min !== undefined, opts.max !== undefined);
  if (!(lo > 0)) throw new Error(`log axis: expected a positive minimum, got ${lo}`);
  return logScale(kind === 'log2' ? 2 : 10, lo, hi, p0, p1, target, opts.min !== undefined, opts.max !== undefined);
}
