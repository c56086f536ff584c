/**
 * A reference for the fused residual block built from tfjs's stock ops only: x + mixer(rmsnorm(x)) with the
 * conv as K shifted slices (causalDepthwiseConv of src/ops/linear.ts), Δ = tf.softplus, the scan as the sequential
 * loop (scanSequential, differentiated by tfjs's autodiff) and plain tf.matMul products. None of the package's
 * custom kernels (scan, conv, softplus) or hand-written backwards runs here, so a bug in one of them cannot cancel
 * out in a comparison with this reference.
 *
 * Shape letters: B batch, L length, D model width, ED inner channels, N state size, R Δ rank, K conv width.
 */
import * as tf from '@tensorflow/tfjs';
import { causalDepthwiseConv } from '../../src/ops/conv/compositeConv';
import { scanSequential } from '../../src/ops/scan/scanSequential';
import type { Mamba } from '../../src/layers/mamba';

/** One block's weights in tfjs layout (kernels (in, out), conv (K, ED)); null: the optional bias is absent. */
export interface ReferenceWeights {
  norm: tf.Tensor; // (D)
  inProj: tf.Tensor; // (D, 2·ED)
  inProjBias: tf.Tensor | null; // (2·ED)
  conv: tf.Tensor; // (K, ED)
  convBias: tf.Tensor | null; // (ED)
  xProj: tf.Tensor; // (ED, R+2N)
  dtProj: tf.Tensor; // (R, ED)
  dtProjBias: tf.Tensor; // (ED)
  aLog: tf.Tensor; // (ED, N)
  d: tf.Tensor; // (ED)
  outProj: tf.Tensor; // (ED, D)
  outProjBias: tf.Tensor | null; // (D)
}

/** x (B, L, I) @ kernel (I, O) [+ bias (O)] → (B, L, O). */
function dense(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  const [b, l, i] = x.shape as number[];
  const y = tf.matMul(tf.reshape(x, [b * l, i]) as tf.Tensor2D, kernel as tf.Tensor2D); // (B·L, O)
  return tf.reshape(bias ? tf.add(y, bias) : y, [b, l, kernel.shape[1] as number]); // (B, L, O)
}

const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** x + mixer(rmsnorm(x)) for x (B, L, D). Call inside tf.tidy (or tf.grads). */
export function referenceBlock(x: tf.Tensor, w: ReferenceWeights, eps: number, dtRank: number): tf.Tensor {
  const [b, l] = x.shape as number[];
  const [ed, n] = w.aLog.shape as number[];
  const xn = tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w.norm); // (B, L, D)
  const xz = dense(xn, w.inProj, w.inProjBias); // (B, L, 2·ED)
  const xr = tf.slice(xz, [0, 0, 0], [b, l, ed]); // (B, L, ED)
  const z = tf.slice(xz, [0, 0, ed], [b, l, ed]); // (B, L, ED)
  const xc = silu(causalDepthwiseConv(xr, w.conv, w.convBias)); // (B, L, ED)
  const dbc = dense(xc, w.xProj, null); // (B, L, R+2N)
  const dt = tf.slice(dbc, [0, 0, 0], [b, l, dtRank]); // (B, L, R)
  const bm = tf.slice(dbc, [0, 0, dtRank], [b, l, n]); // (B, L, N)
  const cm = tf.slice(dbc, [0, 0, dtRank + n], [b, l, n]); // (B, L, N)
  const delta = tf.reshape(tf.softplus(dense(dt, w.dtProj, w.dtProjBias)), [b, l, ed, 1]); // (B, L, ED, 1)
  const a = tf.neg(tf.exp(w.aLog)); // (ED, N)
  const deltaA = tf.exp(tf.mul(delta, tf.reshape(a, [1, 1, ed, n]))); // (B, L, ED, N)
  const deltaBx = tf.mul(tf.mul(delta, tf.reshape(bm, [b, l, 1, n])), tf.reshape(xc, [b, l, ed, 1])); // (B, L, ED, N)
  const hs = scanSequential(deltaA, deltaBx); // (B, L, ED, N)
  const yScan = tf.sum(tf.mul(hs, tf.reshape(cm, [b, l, 1, n])), -1); // (B, L, ED)
  const y = tf.add(yScan, tf.mul(w.d, xc)); // (B, L, ED)
  return tf.add(x, dense(tf.mul(y, silu(z)), w.outProj, w.outProjBias)); // (B, L, D)
}

/**
 * The reference run of a Mamba stack on x: its output and the gradients of sum(out · w) for x and every
 * trainable weight (in trainableWeights order), by tfjs's autodiff through referenceBlock.
 */
export function referenceStack(layer: Mamba, xs: Float32Array, ws: Float32Array, shape: number[]): { out: Float32Array; grads: Float32Array[] } {
  const all = layer.trainableWeights;
  const index = (v: { read(): tf.Tensor } | null): number => {
    if (v == null) return -1;
    const i = all.findIndex((t) => t === v);
    if (i < 0) throw new Error('referenceStack: a block weight is not among the layer\'s trainableWeights');
    return i;
  };
  const slots = layer.blocks.map((blk) => {
    const m = blk.mixer.w;
    return {
      eps: blk.mixer.config.normEps, // the configured value, not the norm layer's own: a dropped eps shows
      dtRank: blk.mixer.config.dtRank,
      at: {
        norm: index(blk.norm.weight), inProj: index(m.inProj), inProjBias: index(m.inProjBias), conv: index(m.conv),
        convBias: index(m.convBias), xProj: index(m.xProj), dtProj: index(m.dtProj), dtProjBias: index(m.dtProjBias),
        aLog: index(m.aLog), d: index(m.d), outProj: index(m.outProj), outProjBias: index(m.outProjBias),
      },
    };
  });
  const stack = (x: tf.Tensor, vals: tf.Tensor[]): tf.Tensor => slots.reduce((h, s) => {
    const w = Object.fromEntries(Object.entries(s.at).map(([k, i]) => [k, i < 0 ? null : vals[i]])) as unknown as ReferenceWeights;
    return referenceBlock(h, w, s.eps, s.dtRank); // (B, L, D)
  }, x);
  return tf.tidy(() => {
    const x = tf.tensor(xs, shape); // (B, L, D)
    const w = tf.tensor(ws, shape); // (B, L, D)
    const vals = all.map((v) => v.read());
    const out = stack(x, vals).dataSync() as Float32Array; // (B, L, D)
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(stack(args[0], args.slice(1)), w)))([x, ...vals]);
    return { out, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}
