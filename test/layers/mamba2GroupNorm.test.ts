/**
 * The grouped gated norm of the original Mamba-2 layout (#15): mamba_ssm normalizes y · silu(z) per group of ED/G
 * channels when ngroups > 1, HF over all ED. A small random Mamba2Block (2 groups, in/out biases, every weight
 * random) against an independent float64 loop of the whole mixer, with normGroups 2 and 1, in both scans and in
 * prefill + step; then the config: the state-spaces layout with ngroups 2 sets normGroups 2, the HF layout never,
 * a saved model keeps it, export-hf refuses it (HF cannot represent it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { Mamba2Block } from '../../src/layers/mamba2/mamba2Block';
import { createMamba2LM, findMamba2LM } from '../../src/layers/mamba2/factories';
import { parseMamba2CheckpointConfig } from '../../src/io/hf/mamba2Config';
import { exportHf } from '../../src/io/hf/exportHf';
import { gatedRmsNorm } from '../../src/ops/norm/gatedRms';
import { expectAllClose, maxAbsDiff } from '../helpers/close';
import { fixtureDir } from '../helpers/fixtures';
import { rng, uniformArray } from '../helpers/random';

// D 8, E 2 → ED 16; P 4 → H 4; G 2; N 3; K 3; CD = ED + 2GN = 28; L 7 over chunks of 3.
const DIMS = { dModel: 8, expandFactor: 2, headDim: 4, nGroups: 2, dState: 3, dConv: 3, chunkSize: 3, bias: true, normEps: 1e-5 };
const [B, L] = [2, 7];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Weights = Record<'inProj' | 'inProjBias' | 'conv' | 'convBias' | 'dtBias' | 'aLog' | 'd' | 'norm' | 'outProj' | 'outProjBias', Float64Array>;

/** A block whose every weight is random (seeded), and those weights as float64. */
function randomBlock(normGroups: number, scanMode: 'chunked' | 'sequential' = 'chunked'): { block: Mamba2Block; w: Weights } {
  const block = new Mamba2Block({ ...DIMS, normGroups, scanMode, seed: 1 });
  const r = rng(42);
  const ranges: Record<keyof Weights, [number, number]> = {
    inProj: [-0.5, 0.5], inProjBias: [-0.3, 0.3], conv: [-0.6, 0.6], convBias: [-0.2, 0.2], dtBias: [-3, -0.5],
    aLog: [-1, 1.5], d: [-1, 1], norm: [0.5, 1.5], outProj: [-0.5, 0.5], outProjBias: [-0.2, 0.2],
  };
  const w = {} as Weights;
  for (const key of Object.keys(ranges) as (keyof Weights)[]) {
    const v = block.w[key];
    if (!v) throw new Error(`test: the block lacks ${key}`);
    const data = uniformArray(r, (v.shape as number[]).reduce((a, b) => a * b, 1), ...ranges[key]);
    v.write(tf.tensor(data, v.shape as number[]));
    w[key] = Float64Array.from(data);
  }
  return { block, w };
}

const silu = (v: number): number => v / (1 + Math.exp(-v));
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

/**
 * The Mamba-2 mixer in float64, one position and one head at a time, from its definition: x (B, L, D) flat →
 * (B, L, D) flat. The gated norm is taken over each of `normGroups` slices of ED/normGroups channels.
 */
function reference(w: Weights, x: Float32Array, normGroups: number): Float64Array {
  const { dModel: d, headDim: p, nGroups: g, dState: n, dConv: k, normEps } = DIMS;
  const ed = DIMS.expandFactor * d;
  const h = ed / p;
  const cd = ed + 2 * g * n;
  const proj = 2 * ed + 2 * g * n + h;
  const out = new Float64Array(B * L * d);
  for (let b = 0; b < B; b++) {
    const xbc: Float64Array[] = [];
    const state = new Float64Array(h * p * n); // (H, P, N)
    for (let t = 0; t < L; t++) {
      const pr = new Float64Array(proj);
      for (let j = 0; j < proj; j++) {
        let s = w.inProjBias[j];
        for (let i = 0; i < d; i++) s += x[(b * L + t) * d + i] * w.inProj[i * proj + j];
        pr[j] = s;
      }
      xbc.push(pr.slice(ed, ed + cd));
      const u = new Float64Array(cd); // conv over the last K inputs (tap K−1 the current one), then silu
      for (let c = 0; c < cd; c++) {
        let s = w.convBias[c];
        for (let j = 0; j < k; j++) {
          const src = t - (k - 1) + j;
          if (src >= 0) s += w.conv[j * cd + c] * xbc[src][c];
        }
        u[c] = silu(s);
      }
      const y = new Float64Array(ed);
      for (let hh = 0; hh < h; hh++) {
        const grp = Math.floor(hh / (h / g));
        const dt = softplus(pr[ed + cd + hh] + w.dtBias[hh]);
        const decay = Math.exp(-dt * Math.exp(w.aLog[hh]));
        for (let pp = 0; pp < p; pp++) {
          const xv = u[hh * p + pp];
          let acc = w.d[hh] * xv;
          for (let nn = 0; nn < n; nn++) {
            const at = (hh * p + pp) * n + nn;
            state[at] = decay * state[at] + dt * xv * u[ed + grp * n + nn];
            acc += state[at] * u[ed + g * n + grp * n + nn];
          }
          y[hh * p + pp] = acc;
        }
      }
      const gated = y.map((v, i) => v * silu(pr[i])); // z is the first ED of in_proj
      const size = ed / normGroups;
      for (let q = 0; q < normGroups; q++) {
        let ms = 0;
        for (let i = q * size; i < (q + 1) * size; i++) ms += gated[i] * gated[i];
        const scale = 1 / Math.sqrt(ms / size + normEps);
        for (let i = q * size; i < (q + 1) * size; i++) gated[i] *= scale * w.norm[i];
      }
      for (let j = 0; j < d; j++) {
        let s = w.outProjBias[j];
        for (let i = 0; i < ed; i++) s += gated[i] * w.outProj[i * d + j];
        out[(b * L + t) * d + j] = s;
      }
    }
  }
  return out;
}

const input = (): Float32Array => uniformArray(rng(7), B * L * DIMS.dModel, -1, 1);

describe.each([2, 1])('normGroups %i', (normGroups) => {
  test.each(['chunked', 'sequential'] as const)('%s scan equals the float64 mixer within 1e-5', (scanMode) => {
    const { block, w } = randomBlock(normGroups, scanMode);
    const xs = input();
    const ours = tf.tidy(() => block.call(tf.tensor3d(xs, [B, L, DIMS.dModel]), {}) as tf.Tensor).dataSync() as Float32Array;
    const ref = reference(w, xs, normGroups);
    expectAllClose(ours, ref, 1e-5, `normGroups ${normGroups}, ${scanMode}`);
    // The other grouping is far off: the test tells the two norms apart.
    expect(maxAbsDiff(ours, reference(w, xs, 3 - normGroups))).toBeGreaterThan(1e-2);
    for (const v of block.weights) v.dispose();
  });

  test('prefill + step equals the float64 mixer', () => {
    const { block, w } = randomBlock(normGroups);
    const xs = input();
    const ref = reference(w, xs, normGroups);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor3d(xs, [B, L, DIMS.dModel]); // (B, L, D)
      const pre = block.prefill(tf.slice(x, [0, 0, 0], [B, 4, DIMS.dModel]));
      const ys: tf.Tensor[] = [pre.y]; // (B, 4, D)
      let cache = pre.cache;
      for (let t = 4; t < L; t++) {
        const out = block.step(tf.reshape(tf.slice(x, [0, t, 0], [B, 1, DIMS.dModel]), [B, DIMS.dModel]), cache);
        ys.push(tf.reshape(out.y, [B, 1, DIMS.dModel]));
        cache = out.cache;
      }
      expectAllClose(tf.concat(ys, 1).dataSync(), ref, 1e-5, `normGroups ${normGroups}, prefill + step`);
    });
    expect(tf.memory().numTensors).toBe(before);
    for (const v of block.weights) v.dispose();
  });
});

test('gatedRmsNorm names a group count that does not divide the channels', () => {
  tf.tidy(() => {
    expect(() => gatedRmsNorm(tf.ones([1, 6]), tf.ones([1, 6]), tf.ones([6]), 1e-5, 4)).toThrow(/expected groups to be a positive integer dividing the 6 channels, got 4/);
  });
  expect(() => createMamba2LM({ vocabSize: 10, dModel: 8, nLayers: 1, headDim: 4, normGroups: 3 })).toThrow(/expected normGroups to divide expandFactor·dModel = 16, got 3/);
});

test('config: the state-spaces layout with ngroups 2 sets normGroups 2; the HF layout never; saved and reloaded; export-hf refuses', async () => {
  const orig = JSON.parse(fs.readFileSync(path.join(fixtureDir('tiny-mamba2-orig'), 'config.json'), 'utf8'));
  expect(parseMamba2CheckpointConfig(JSON.stringify(orig)).args.normGroups).toBeUndefined(); // ngroups 1
  orig.ssm_cfg.ngroups = 2;
  const { args } = parseMamba2CheckpointConfig(JSON.stringify(orig));
  expect(args).toMatchObject({ nGroups: 2, normGroups: 2 });
  const hf = parseMamba2CheckpointConfig(fs.readFileSync(path.join(fixtureDir('tiny-mamba2-hf'), 'config.json'), 'utf8'));
  expect(hf.args.nGroups).toBe(2);
  expect(hf.args.normGroups).toBeUndefined(); // HF: over all ED

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba2-groupnorm-'));
  try {
    const model = createMamba2LM({ vocabSize: 20, dModel: 8, nLayers: 1, headDim: 4, nGroups: 2, normGroups: 2, dState: 4, chunkSize: 3, seed: 2 });
    await model.save(`file://${tmp}/m`);
    const loaded = await tf.loadLayersModel(`file://${tmp}/m/model.json`);
    expect(findMamba2LM(loaded).backbone.config.normGroups).toBe(2);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    expect(Array.from((loaded.predict(ids) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(ids) as tf.Tensor).dataSync()));
    await expect(exportHf(`${tmp}/m`, `${tmp}/hf`)).rejects.toThrow(/expected a Mamba-2 model with normGroups 1 \(HF's Mamba2 normalizes over all channels\), got normGroups 2/);
    model.dispose();
    loaded.dispose();
    ids.dispose();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
