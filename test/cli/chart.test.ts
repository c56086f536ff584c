import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { chartSvg, svgToPng, writeChart } from '../../src/cli/chart';
import { formatNumber, makeScale } from '../../src/cli/chartScale';
import { writeExtrapolationChart, writeTrainingChart } from '../../src/cli/trainCharts';
import { emptyHistory } from '../../src/cli/trainCheckpoint';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Minimal PNG reader for 8-bit RGBA / RGB images: width, height and the unfiltered pixel rows. */
function decodePng(buf: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  expect(Array.from(buf.subarray(0, 8))).toEqual(PNG_SIGNATURE);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      channels = { 2: 3, 6: 4 }[data[9]] ?? 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const cur = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const pred = [0, a, b, Math.floor((a + b) / 2), Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][f];
      pixels[y * stride + x] = (cur + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Number of pixels darker than mid-grey. */
function darkPixels(img: ReturnType<typeof decodePng>): number {
  let n = 0;
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    if (img.pixels[i] + img.pixels[i + 1] + img.pixels[i + 2] < 384 && (img.channels === 3 || img.pixels[i + 3] > 128)) n++;
  }
  return n;
}

describe('chart scales', () => {
  it('rounds linear domains out to nice ticks', () => {
    const s = makeScale('linear', [0.13, 2.71], 0, 100);
    expect(s.domain[0]).toBeLessThanOrEqual(0.13);
    expect(s.domain[1]).toBeGreaterThanOrEqual(2.71);
    expect(s.ticks).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3]);
    expect(s.map(s.domain[0])).toBeCloseTo(0);
    expect(s.map(s.domain[1])).toBeCloseTo(100);
  });

  it('puts log ticks on powers of the base and ignores non-positive values', () => {
    const s2 = makeScale('log2', [64, 1024, 0, -3], 0, 400);
    expect(s2.ticks).toEqual([64, 128, 256, 512, 1024]);
    expect(s2.map(256)).toBeCloseTo(200);
    const s10 = makeScale('log10', [3, 4000], 0, 100);
    expect(s10.domain).toEqual([1, 10000]);
    expect(s10.ticks.filter((t) => Math.log10(t) % 1 === 0)).toEqual([1, 10, 100, 1000, 10000]);
  });

  it('formats tick labels compactly', () => {
    expect(formatNumber(1500)).toBe('1500');
    expect(formatNumber(15000)).toBe('15k');
    expect(formatNumber(2e6)).toBe('2M');
    expect(formatNumber(0.25)).toBe('0.25');
    expect(formatNumber(0.000125)).toBe('1.25e-4');
  });
});

describe('charts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-'));
  const steps = Array.from({ length: 50 }, (_, i) => i * 10);

  it('writes a PNG of the requested size with lines and text', () => {
    const file = writeChart(
      path.join(dir, 'curves.png'),
      [
        { title: 'loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'train', x: steps, y: steps.map((s) => Math.exp(-s / 100)) }] },
        { title: 'accuracy', xLabel: 'step', yMin: 0, yMax: 1, series: [{ name: 'val', x: steps, y: steps.map((s) => 1 - Math.exp(-s / 100)), dashed: true }] },
      ],
      { columns: 2 },
    );
    const img = decodePng(fs.readFileSync(file));
    expect([img.width, img.height]).toEqual([1280, 400]);
    expect(darkPixels(img)).toBeGreaterThan(500);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('renders text with the bundled font', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="white"/>' +
      '<text x="5" y="28" font-family="DejaVu Sans" font-size="24" fill="black">Accuracy</text></svg>';
    const img = decodePng(svgToPng(svg));
    expect([img.width, img.height]).toEqual([200, 40]);
    expect(darkPixels(img)).toBeGreaterThan(100); // glyphs drawn, so a font was found
  });

  it('draws log axes, breaks lines at gaps, and writes SVG when asked', () => {
    const spec = {
      title: 'time vs length',
      xAxis: 'log2' as const,
      yAxis: 'log10' as const,
      width: 500,
      height: 300,
      series: [
        { name: 'a', x: [64, 128, 256, 512], y: [1, 2, NaN, 8] },
        { name: 'b & <c>', x: [64, 512], y: [3, 30] },
      ],
    };
    const { svg, width, height } = chartSvg(spec);
    expect([width, height]).toEqual([500, 300]);
    expect(svg).toContain('b &amp; &lt;c&gt;');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2); // series a has one 2-point segment, b one
    const file = writeChart(path.join(dir, 'bench.svg'), spec);
    expect(fs.readFileSync(file, 'utf8').startsWith('<svg')).toBe(true);
  });

  it('rejects series of unequal length', () => {
    expect(() => chartSvg({ series: [{ name: 'x', x: [1, 2], y: [1] }] })).toThrow(/expected x and y of equal length, got 2 and 1/);
  });
});

describe('training and extrapolation charts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-chart-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** Attribute values of the SVG elements matching `re` (first capture group as a number). */
  const numbers = (svg: string, re: RegExp): number[] => [...svg.matchAll(re)].map((m) => Number(m[1]));
  /** The pixel y of a y-axis tick labelled `label` in panel `panel` (tick labels sit 4 px below their line). */
  function tickY(svg: string, label: string, panel: number): number {
    const g = svg.split('<g transform=')[panel + 1];
    const m = new RegExp(`<text x="[\\d.]+" y="([\\d.]+)" font-size="12" text-anchor="end" fill="#333">${label}</text>`).exec(g);
    expect(m).not.toBeNull();
    return Number((m as RegExpExecArray)[1]) - 4;
  }

  it('training: accuracy in % (0-100 axis), titled by what the task scores; validation points drawn whole', () => {
    const h = emptyHistory();
    for (let s = 1; s <= 100; s++) {
      h.train.step.push(s);
      h.train.loss.push(3 / s);
      h.train.accuracy.push(0.5);
    }
    h.val = { step: [50, 100], loss: [0.1, 0.05], accuracy: [0.5, 0.75], seqAccuracy: [0, 0] };
    const text = fs.readFileSync(writeTrainingChart(path.join(dir, 'text.svg'), h, 'text'), 'utf8');
    expect(text).toContain('text: next-byte accuracy');
    expect(text).not.toContain('answer accuracy');
    expect(text).toContain('accuracy (%)');
    const panel = text.split('<g transform=')[2];
    // The validation series (second colour) at 50 % and 75 % of the way from the 0 tick to the 100 tick.
    const cys = numbers(panel, /<circle cx="[\d.]+" cy="([\d.]+)" r="3" fill="#d62728"\/>/g);
    const y0 = tickY(text, '0', 1);
    const y100 = tickY(text, '100', 1);
    expect(cys).toHaveLength(2);
    expect(cys[0]).toBeCloseTo(y0 + 0.5 * (y100 - y0), 0);
    expect(cys[1]).toBeCloseTo(y0 + 0.75 * (y100 - y0), 0);
    // Markers are clipped to the plot box grown by their radius: the point at the last step (on the frame) is whole.
    expect(panel).toMatch(/<clipPath id="clip-p1-m"><rect x="68" y="32" width="558" height="320"\/><\/clipPath>/);
    const synthetic = fs.readFileSync(writeTrainingChart(path.join(dir, 'sc.svg'), h, 'selective-copying'), 'utf8');
    expect(synthetic).toContain('selective-copying: answer accuracy');
  });

  it('extrapolation: value labels on every point, and room above 100 % so that a drop to 96.9 % shows', () => {
    const rows = [64, 128, 256, 512, 1024].map((length, i) => ({ factor: 2 ** i, length, accuracy: i < 4 ? 1 : 0.96875, loss: 0 }));
    const svg = fs.readFileSync(writeExtrapolationChart(path.join(dir, 'ex.svg'), rows, 64), 'utf8');
    expect((svg.match(/>100 %<\/text>/g) ?? []).length).toBe(4);
    expect(svg).toContain('>96.9 %</text>');
    const top = numbers(svg, /<rect x="72" y="([\d.]+)" width/g)[0]; // the plot box's top edge
    const cys = numbers(svg, /<circle cx="[\d.]+" cy="([\d.]+)" r="3"/g);
    expect(Math.min(...cys)).toBeGreaterThan(top + 20); // 100 % is below the frame, with its label in between
    expect(cys[4] - cys[0]).toBeGreaterThan(5); // the drop is visible: 3.1 points of 110 over 314 px
  });

  it('a legend below the plot: entries under the x label, the plot shorter, no entry over the data', () => {
    const series = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((name, i) => ({ name, x: [1, 2, 4], y: [i + 1, i + 2, i + 3] }));
    const { svg } = chartSvg({ title: 't', xLabel: 'x', yLabel: 'y', legend: 'below', series });
    const plotBottom = (() => {
      const m = /<rect x="72" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#ffffff"/.exec(svg) as RegExpExecArray;
      return Number(m[1]) + Number(m[2]);
    })();
    const xLabelY = numbers(svg, /<text x="[\d.]+" y="([\d.]+)" font-size="13" text-anchor="middle" fill="#111">x<\/text>/g)[0];
    const entryYs = numbers(svg, /<text x="[\d.]+" y="([\d.]+)" font-size="12" fill="#111">(?:alpha|beta|gamma|delta|epsilon)<\/text>/g);
    expect(entryYs).toHaveLength(5);
    expect(Math.min(...entryYs)).toBeGreaterThan(xLabelY);
    expect(Math.max(...entryYs)).toBeLessThanOrEqual(400);
    expect(xLabelY).toBeGreaterThan(plotBottom);
    expect(plotBottom).toBeLessThan(400 - 52); // the plot gave up the legend's rows
    expect(svg).not.toContain('fill-opacity="0.85"'); // no boxed legend inside the plot
  });
});
