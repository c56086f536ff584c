/**
 * Line charts as SVG and PNG: training curves (loss / accuracy vs step), accuracy vs test length,
 * and generic multi-series x/y plots with linear or log axes (for benchmarks).
 *
 * The SVG is built here; PNG rendering uses resvg (`@resvg/resvg-js`, prebuilt binaries shipped as
 * npm packages) with the DejaVu Sans font from the `dejavu-fonts-ttf` npm package, so text renders
 * the same on any machine, with or without system fonts.
 */
import * as path from 'path';
import { writeFileAtomicSync } from '../io/files';
import { makeScale, type AxisKind } from './chartScale';

/** One line of a chart. Points whose x or y is not finite (or not positive on a log axis) break the line. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** CSS colour; defaults to the palette entry of the series index. */
  color?: string;
  /** Draw dashed. */
  dashed?: boolean;
  /** Draw a dot at every point (default: when the series has at most 40 points). */
  markers?: boolean;
  /** Write each point's value above it, formatted by this function (e.g. `(v) => v.toFixed(1) + ' %'`). */
  labels?: (y: number) => string;
}

/** One chart panel. */
export interface ChartSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Axis kinds (default linear). */
  xAxis?: AxisKind;
  yAxis?: AxisKind;
  /** Fixed axis ends; otherwise rounded out from the data. */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** About how many y ticks to draw (default 5). */
  yTicks?: number;
  /** Where the legend goes: in the corner of the plot that covers fewer points (default), or below the plot. */
  legend?: 'inside' | 'below';
  /** Panel size in pixels (default 640 x 400). */
  width?: number;
  height?: number;
  series: Series[];
}

/** Layout of several panels in one image. */
export interface GridOptions {
  /** Panels per row (default 1). */
  columns?: number;
  /** Background colour (default white). */
  background?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'DejaVu Sans';

/** Escapes text for SVG element content and attributes. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounds a pixel coordinate for compact SVG. */
function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Width and height of a panel. */
function panelSize(spec: ChartSpec): [number, number] {
  return [spec.width ?? 640, spec.height ?? 400];
}

/** SVG elements of one panel, drawn in the box [0, width] x [0, height]; `id` keeps its clip path unique in a grid. */
export function chartBody(spec: ChartSpec, id = 'p0'): string {
  const [W, H] = panelSize(spec);
  const named = spec.series.filter((s) => s.name);
  const showLegend = named.length > 1 || (named.length === 1 && !spec.yLabel);
  const below = showLegend && spec.legend === 'below' ? belowLegendLayout(named, W - 72 - 18) : null;
  const m = { left: 72, right: 18, top: spec.title ? 36 : 14, bottom: (spec.xLabel ? 52 : 32) + (below ? below.rows * 18 + 6 : 0) };
  const x0 = m.left;
  const x1 = W - m.right;
  const y0 = H - m.bottom;
  const y1 = m.top;
  for (const s of spec.series) {
    if (s.x.length !== s.y.length) throw new Error(`series "${s.name}": expected x and y of equal length, got ${s.x.length} and ${s.y.length}`);
  }
  const xs = makeScale(spec.xAxis ?? 'linear', spec.series.flatMap((s) => s.x), x0, x1, { min: spec.xMin, max: spec.xMax });
  const ys = makeScale(spec.yAxis ?? 'linear', spec.series.flatMap((s) => s.y), y0, y1, { min: spec.yMin, max: spec.yMax, ticks: spec.yTicks ?? 5 });
  const out: string[] = [];
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="#ffffff" stroke="none"/>`);
  // Grid and tick labels.
  for (const t of xs.ticks) {
    const X = px(xs.map(t));
    out.push(`<line x1="${X}" y1="${y1}" x2="${X}" y2="${y0}" stroke="#e3e3e3" stroke-width="1"/>`);
    out.push(`<text x="${X}" y="${y0 + 16}" font-size="12" text-anchor="middle" fill="#333">${esc(xs.format(t))}</text>`);
  }
  for (const t of ys.ticks) {
    const Y = px(ys.map(t));
    out.push(`<line x1="${x0}" y1="${Y}" x2="${x1}" y2="${Y}" stroke="#e3e3e3" stroke-width="1"/>`);
    out.push(`<text x="${x0 - 6}" y="${px(ys.map(t) + 4)}" font-size="12" text-anchor="end" fill="#333">${esc(ys.format(t))}</text>`);
  }
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#444" stroke-width="1"/>`);
  // Lines, clipped to the plot box.
  const clipId = `clip-${id}`;
  out.push(`<clipPath id="${clipId}"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath>`);
  out.push(`<g clip-path="url(#${clipId})">`);
  const okX = (v: number): boolean => Number.isFinite(v) && (xs.kind === 'linear' || v > 0);
  const okY = (v: number): boolean => Number.isFinite(v) && (ys.kind === 'linear' || v > 0);
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    let seg: string[] = [];
    const flush = (): void => {
      if (seg.length > 1) out.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash} stroke-linejoin="round"/>`);
      seg = [];
    };
    for (let k = 0; k < s.x.length; k++) {
      if (okX(s.x[k]) && okY(s.y[k])) seg.push(`${px(xs.map(s.x[k]))},${px(ys.map(s.y[k]))}`);
      else flush();
    }
    flush();
  });
  out.push('</g>');
  // Markers and value labels, clipped to the plot box grown by a marker's radius (a point on the frame stays whole).
  out.push(`<clipPath id="${clipId}-m"><rect x="${x0 - 4}" y="${y1 - 4}" width="${x1 - x0 + 8}" height="${y0 - y1 + 8}"/></clipPath>`);
  out.push(`<g clip-path="url(#${clipId}-m)">`);
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const markers = s.markers ?? s.x.length <= 40;
    for (let k = 0; k < s.x.length; k++) {
      if (!okX(s.x[k]) || !okY(s.y[k])) continue;
      const X = xs.map(s.x[k]);
      const Y = ys.map(s.y[k]);
      if (markers) out.push(`<circle cx="${px(X)}" cy="${px(Y)}" r="3" fill="${color}"/>`);
    }
  });
  out.push('</g>');
  spec.series.forEach((s, i) => {
    if (!s.labels) return;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    for (let k = 0; k < s.x.length; k++) {
      if (!okX(s.x[k]) || !okY(s.y[k])) continue;
      const X = Math.min(Math.max(xs.map(s.x[k]), x0 + 24), x1 - 24); // whole labels at the ends of the axis
      out.push(`<text x="${px(X)}" y="${px(ys.map(s.y[k]) - 8)}" font-size="11" text-anchor="middle" fill="${color}">${esc(s.labels(s.y[k]))}</text>`);
    }
  });
  // Titles.
  if (spec.title) out.push(`<text x="${px((x0 + x1) / 2)}" y="22" font-size="15" font-weight="bold" text-anchor="middle" fill="#111">${esc(spec.title)}</text>`);
  if (spec.xLabel) out.push(`<text x="${px((x0 + x1) / 2)}" y="${y0 + 40}" font-size="13" text-anchor="middle" fill="#111">${esc(spec.xLabel)}</text>`);
  if (spec.yLabel) {
    const cy = px((y0 + y1) / 2);
    out.push(`<text x="16" y="${cy}" font-size="13" text-anchor="middle" fill="#111" transform="rotate(-90 16 ${cy})">${esc(spec.yLabel)}</text>`);
  }
  // Legend, only when it helps: below the plot, or in the right-hand corner (top or bottom) that covers fewer points.
  if (below) {
    const top = H - (below.rows * 18 + 6) - 4;
    spec.series.forEach((s, i) => {
      const j = named.indexOf(s);
      if (j < 0) return;
      const color = s.color ?? PALETTE[i % PALETTE.length];
      const lx = x0 + (j % below.columns) * below.width;
      const ly = top + 13 + Math.floor(j / below.columns) * 18;
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(`<line x1="${px(lx)}" y1="${px(ly - 4)}" x2="${px(lx + 20)}" y2="${px(ly - 4)}" stroke="${color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${px(lx + 26)}" y="${px(ly)}" font-size="12" fill="#111">${esc(s.name)}</text>`);
    });
  } else if (showLegend) {
    const lw = Math.max(...named.map((s) => s.name.length)) * 7.2 + 38;
    const lh = named.length * 18 + 8;
    const lx = x1 - lw - 8;
    const covered = (top: number): number =>
      spec.series.reduce((n, s) => {
        let c = 0;
        for (let k = 0; k < s.x.length; k++) {
          if (!okX(s.x[k]) || !okY(s.y[k])) continue;
          const X = xs.map(s.x[k]);
          const Y = ys.map(s.y[k]);
          if (X >= lx && X <= lx + lw && Y >= top && Y <= top + lh) c++;
        }
        return n + c;
      }, 0);
    const ly0 = covered(y1 + 8) <= covered(y0 - 8 - lh) ? y1 + 8 : y0 - 8 - lh;
    out.push(`<rect x="${px(lx)}" y="${px(ly0)}" width="${px(lw)}" height="${lh}" fill="#ffffff" fill-opacity="0.85" stroke="#bbb"/>`);
    spec.series.forEach((s, i) => {
      const j = named.indexOf(s);
      if (j < 0) return;
      const color = s.color ?? PALETTE[i % PALETTE.length];
      const ly = ly0 + 13 + j * 18;
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(`<line x1="${px(lx + 8)}" y1="${px(ly - 4)}" x2="${px(lx + 28)}" y2="${px(ly - 4)}" stroke="${color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${px(lx + 34)}" y="${px(ly)}" font-size="12" fill="#111">${esc(s.name)}</text>`);
    });
  }
  return out.join('\n');
}

/** Columns, column width and rows of a legend below a plot `width` pixels wide. */
function belowLegendLayout(named: Series[], width: number): { columns: number; width: number; rows: number } {
  const entry = Math.max(...named.map((s) => s.name.length)) * 7.2 + 40;
  const columns = Math.max(1, Math.min(named.length, Math.floor(width / entry)));
  return { columns, width: entry, rows: Math.ceil(named.length / columns) };
}

/** A complete SVG document holding the panels in a grid. */
export function chartSvg(specs: ChartSpec | ChartSpec[], grid: GridOptions = {}): { svg: string; width: number; height: number } {
  const list = Array.isArray(specs) ? specs : [specs];
  if (list.length === 0) throw new Error('chartSvg: expected at least one panel, got none');
  const cols = Math.max(1, Math.min(grid.columns ?? 1, list.length));
  const rows = Math.ceil(list.length / cols);
  const colW = Array.from({ length: cols }, (_, c) => Math.max(...list.filter((_, i) => i % cols === c).map((s) => panelSize(s)[0])));
  const rowH = Array.from({ length: rows }, (_, r) => Math.max(...list.slice(r * cols, r * cols + cols).map((s) => panelSize(s)[1])));
  const width = colW.reduce((a, b) => a + b, 0);
  const height = rowH.reduce((a, b) => a + b, 0);
  const parts = list.map((s, i) => {
    const c = i % cols;
    const r = Math.floor(i / cols);
    const ox = colW.slice(0, c).reduce((a, b) => a + b, 0);
    const oy = rowH.slice(0, r).reduce((a, b) => a + b, 0);
    return `<g transform="translate(${ox} ${oy})">\n${chartBody(s, `p${i}`)}\n</g>`;
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">\n` +
    `<rect width="${width}" height="${height}" fill="${grid.background ?? '#ffffff'}"/>\n${parts.join('\n')}\n</svg>\n`;
  return { svg, width, height };
}

/** Paths of the bundled font files (regular and bold), or [] when the font package is missing. */
function fontFiles(): string[] {
  try {
    const regular = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
    return [regular, path.join(path.dirname(regular), 'DejaVuSans-Bold.ttf')];
  } catch {
    return [];
  }
}

/** Rasterises an SVG document to PNG bytes. Throws if the resvg binding cannot be loaded. */
export function svgToPng(svg: string): Buffer {
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Resvg = (require('@resvg/resvg-js') as typeof import('@resvg/resvg-js')).Resvg;
  } catch (e) {
    throw new Error(`PNG charts need @resvg/resvg-js with a prebuilt binary for ${process.platform}-${process.arch}: ${(e as Error).message}`);
  }
  const files = fontFiles();
  const resvg = new Resvg(svg, {
    font: { fontFiles: files, loadSystemFonts: files.length === 0, defaultFontFamily: FONT, sansSerifFamily: FONT },
  });
  return resvg.render().asPng();
}

/**
 * Draws the panels and writes them atomically to `file`: PNG, or SVG when the name ends in `.svg`.
 * @returns the file written.
 */
export function writeChart(file: string, specs: ChartSpec | ChartSpec[], grid: GridOptions = {}): string {
  const { svg } = chartSvg(specs, grid);
  writeFileAtomicSync(file, file.toLowerCase().endsWith('.svg') ? svg : svgToPng(svg));
  return file;
}
