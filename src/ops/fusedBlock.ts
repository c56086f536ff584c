/**
 * A whole residual Mamba block, x + mixer(rmsnorm(x)), as one differentiable op with a hand-written backward
 * (the counterpart of the official kernel's mamba_inner_fn).
 *
 * Shape glossary:
 *   B  batch, L length, BL = B·L rows
 *   D  model width
 *   ED inner channels (expand · D)
 *   N  state size
 *   R  dt rank
 *   K  conv width
 *
 * Why: under autodiff every op of the block records its inputs on the tape, so a train step keeps some 30
 * (B, L, ED) tensors per layer alive until the backward pass, and runs ~200 gradient ops per layer. Here the
 * forward runs untaped; the backward applies the chain rule by hand (~50 ops), with the fused scan and conv
 * gradient kernels. It keeps the block's input x (B, L, D), the scan output y (B, L, ED) and, unless
 * recomputesInBackward() (webgpu), about ten more (B, L, ED) intermediates; when recomputing, the backward reruns
 * the cheap ones (norm, projections, conv; not the scan). Memory per layer: O(B·L·(D + ED)); never (B, L, ED, N).
 *
 * Used by ResidualBlock.call when the scan runs fused (the active backend has the fused scan kernels) and no
 * mask is given; every other path (pscan, sequential, masks, decoding) keeps the layer-by-layer ops, which
 * are the reference this op is tested against.
 *
 * Porting note: mamba.py differentiates its block with autograd; the official CUDA implementation fuses the
 * same way (recomputing the conv output in the backward pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL } from './fusedSelectiveScan';
import { CONV_GRAD_KERNEL, CONV_KERNEL, hasConvKernel } from './fusedConv';
import { causalDepthwiseConv, causalDepthwiseConvGrad } from './linear';

/** The block's tensors (weights in tfjs layout: kernels (in, out), conv (K, ED)). */
export interface FusedBlockWeights {
  normWeight: tf.Tensor; // (D)
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

/** Sizes the weights do not carry. */
export interface FusedBlockDims {
  /** RMSNorm epsilon. */
  eps: number;
  /** R. */
  dtRank: number;
  /** N. */
  dState: number;
}

type Key = keyof FusedBlockWeights;
/** Input order of the op after x; optional biases join only when present. */
const KEYS: Key[] = ['normWeight', 'inProj', 'conv', 'xProj', 'dtProj', 'dtProjBias', 'aLog', 'd', 'outProj', 'inProjBias', 'convBias', 'outProjBias'];

/** a (M, K) @ b (K, O), a ᵀ @ b and a @ bᵀ. tfjs-wasm's transposed products are ~10× slower (see matMul.ts). */
const mm = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
function mmTA(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.getBackend() === 'wasm' ? mm(tf.transpose(a), b) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false);
}
function mmTB(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.getBackend() === 'wasm' ? mm(a, tf.transpose(b)) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true);
}

/** x · sigmoid(x) and its derivative s · (1 + x (1 − s)). */
const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));
function siluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const s = tf.sigmoid(x);
  return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
}

function conv(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  if (!hasConvKernel()) return causalDepthwiseConv(x, w, bias);
  const b = bias ?? tf.zeros([w.shape[1] as number]); // (ED)
  return tf.engine().runKernel(CONV_KERNEL, { x, weight: w, bias: b } as unknown as tf.NamedTensorMap) as tf.Tensor;
}

function convGrad(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | null, dy: tf.Tensor): tf.Tensor[] {
  if (!hasConvKernel()) return causalDepthwiseConvGrad(x, w, dy);
  const b = bias ?? tf.zeros([w.shape[1] as number]); // (ED)
  return tf.engine().runKernel(CONV_GRAD_KERNEL, { x, weight: w, bias: b, dy } as unknown as tf.NamedTensorMap) as tf.Tensor[];
}

/** The forward intermediates, up to the scan's inputs (recomputed by the backward pass). */
function projections(x: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims) {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const { dtRank: r, dState: n } = dims;
  const rInv = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), dims.eps)); // (B, L, 1)
  const xn = tf.mul(x, rInv); // (B, L, D)
  const u = tf.reshape(tf.mul(xn, w.normWeight), [b * l, dm]); // (BL, D)
  const xzRaw = mm(u, w.inProj); // (BL, 2·ED)
  const xz = w.inProjBias ? tf.add(xzRaw, w.inProjBias) : xzRaw; // (BL, 2·ED)
  const xr = tf.reshape(tf.slice(xz, [0, 0], [b * l, ed]), [b, l, ed]); // (B, L, ED)
  const z = tf.slice(xz, [0, ed], [b * l, ed]); // (BL, ED)
  const cpre = conv(xr, w.conv, w.convBias); // (B, L, ED)
  const xc = silu(cpre); // (B, L, ED)
  const dbc = mm(tf.reshape(xc, [b * l, ed]), w.xProj); // (BL, R+2N)
  const dt = tf.slice(dbc, [0, 0], [b * l, r]); // (BL, R)
  const bm = tf.reshape(tf.slice(dbc, [0, r], [b * l, n]), [b, l, n]); // (B, L, N)
  const cm = tf.reshape(tf.slice(dbc, [0, r + n], [b * l, n]), [b, l, n]); // (B, L, N)
  const draw = tf.add(mm(dt, w.dtProj), w.dtProjBias); // (BL, ED)
  const delta = tf.reshape(tf.softplus(draw), [b, l, ed]); // (B, L, ED)
  const a = tf.neg(tf.exp(w.aLog)); // (ED, N)
  return { rInv, xn, u, xr, z, cpre, xc, dt, bm, cm, draw, delta, a };
}

/** out_proj(y · silu(z)) + x, with g = y · silu(z) (BL, ED). */
function output(x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, w: FusedBlockWeights): tf.Tensor {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const g = tf.mul(tf.reshape(y, [b * l, ed]), silu(z)); // (BL, ED)
  const o = mm(g, w.outProj); // (BL, D)
  return tf.add(x, tf.reshape(w.outProjBias ? tf.add(o, w.outProjBias) : o, [b, l, dm])); // (B, L, D)
}

function scan(p: ReturnType<typeof projections>, d: tf.Tensor): tf.Tensor {
  const inputs = { x: p.xc, delta: p.delta, A: p.a, B: p.bm, C: p.cm, D: d };
  return tf.engine().runKernel(FUSED_SCAN_KERNEL, inputs as unknown as tf.NamedTensorMap) as tf.Tensor; // (B, L, ED)
}

type Projections = ReturnType<typeof projections>;
/** The intermediates the backward pass reads, in save order. */
const SAVED: (keyof Projections)[] = ['rInv', 'xn', 'u', 'xr', 'z', 'cpre', 'xc', 'dt', 'bm', 'cm', 'draw', 'delta', 'a'];

/**
 * Whether the backward pass recomputes the intermediates (keeping only x and y per layer) rather than keeping
 * them from the forward pass: on webgpu, where memory is the scarce resource and the arithmetic is cheap; not on
 * cpu and wasm, where the recomputation would cost more than the ops it saves. MAMBA_TFJS_RECOMPUTE=1 / 0
 * forces either.
 */
export function recomputesInBackward(): boolean {
  const env = typeof process !== 'undefined' ? process.env?.MAMBA_TFJS_RECOMPUTE : undefined;
  if (env === '1' || env === '0') return env === '1';
  return tf.getBackend() === 'webgpu';
}

/** Gradients of sum(out · dOut) for x and every weight, from the intermediates p. */
function backward(x: tf.Tensor, y: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims, dOut: tf.Tensor, p: Projections): { dx: tf.Tensor; dw: Partial<Record<Key, tf.Tensor>> } {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const bl = b * l;
  const dw: Partial<Record<Key, tf.Tensor>> = {};
  // Gate and out_proj.
  const dO = tf.reshape(dOut, [bl, dm]); // (BL, D)
  const y2 = tf.reshape(y, [bl, ed]); // (BL, ED)
  const sz = silu(p.z); // (BL, ED)
  if (w.outProjBias) dw.outProjBias = tf.sum(dO, 0); // (D)
  dw.outProj = mmTA(tf.mul(y2, sz), dO); // (ED, D)
  const dg = mmTB(dO, w.outProj); // (BL, ED)
  const dy = tf.reshape(tf.mul(dg, sz), [b, l, ed]); // (B, L, ED)
  const dz = siluGrad(p.z, tf.mul(dg, y2)); // (BL, ED)
  // Selective scan.
  const scanIn = { x: p.xc, delta: p.delta, A: p.a, B: p.bm, C: p.cm, D: w.d, dy };
  const [dxc1, ddelta, dA, dB, dC, dD] = tf.engine().runKernel(FUSED_SCAN_GRAD_KERNEL, scanIn as unknown as tf.NamedTensorMap) as tf.Tensor[];
  dw.d = dD; // (ED)
  dw.aLog = tf.mul(dA, p.a); // (ED, N): d/dA_log of −exp(A_log) is A
  // Δ = softplus(dt @ dt_proj + bias).
  const ddraw = tf.mul(tf.reshape(ddelta, [bl, ed]), tf.sigmoid(p.draw)); // (BL, ED)
  dw.dtProjBias = tf.sum(ddraw, 0); // (ED)
  dw.dtProj = mmTA(p.dt, ddraw); // (R, ED)
  const ddt = mmTB(ddraw, w.dtProj); // (BL, R)
  // x_proj.
  const ddbc = tf.concat([ddt, tf.reshape(dB, [bl, dims.dState]), tf.reshape(dC, [bl, dims.dState])], 1); // (BL, R+2N)
  const xc2 = tf.reshape(p.xc, [bl, ed]); // (BL, ED)
  dw.xProj = mmTA(xc2, ddbc); // (ED, R+2N)
  const dxc = tf.add(tf.reshape(dxc1, [bl, ed]), mmTB(ddbc, w.xProj)); // (BL, ED)
  // silu and conv.
  const dcpre = tf.reshape(siluGrad(tf.reshape(p.cpre, [bl, ed]), dxc), [b, l, ed]); // (B, L, ED)
  const [dxr, dConv, dConvBias] = convGrad(p.xr, w.conv, w.convBias, dcpre);
  dw.conv = dConv; // (K, ED)
  if (w.convBias) dw.convBias = dConvBias; // (ED)
  // in_proj.
  const dxz = tf.concat([tf.reshape(dxr, [bl, ed]), dz], 1); // (BL, 2·ED)
  if (w.inProjBias) dw.inProjBias = tf.sum(dxz, 0); // (2·ED)
  dw.inProj = mmTA(p.u, dxz); // (D, 2·ED)
  const du = tf.reshape(mmTB(dxz, w.inProj), [b, l, dm]); // (B, L, D)
  // RMSNorm: xn = x·r, r = (mean(x²) + eps)^−½  ⇒  dx = r·(dxn − xn·mean(dxn·xn)).
  dw.normWeight = tf.sum(tf.reshape(tf.mul(du, p.xn), [bl, dm]), 0); // (D)
  const dxn = tf.mul(du, w.normWeight); // (B, L, D)
  const proj = tf.mean(tf.mul(dxn, p.xn), -1, true); // (B, L, 1)
  const dxNorm = tf.mul(p.rInv, tf.sub(dxn, tf.mul(p.xn, proj))); // (B, L, D)
  return { dx: tf.add(dOut, dxNorm), dw }; // (B, L, D)
}

/**
 * x + mixer(rmsnorm(x)) for x (B, L, D), differentiable in x and every weight, with the backward above.
 * Needs the fused scan kernels on the active backend (hasFusedScanKernel()).
 */
export function fusedResidualBlock(x: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims): tf.Tensor {
  const keys = KEYS.filter((k) => w[k] != null);
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, ...ws] = args as tf.Tensor[];
    const wi = Object.fromEntries(KEYS.map((k) => [k, null])) as unknown as FusedBlockWeights;
    keys.forEach((k, i) => ((wi as unknown as Record<Key, tf.Tensor>)[k] = ws[i]));
    const p = projections(xi, wi, dims);
    const y = scan(p, wi.d); // (B, L, ED)
    const recompute = recomputesInBackward();
    save([xi, y, ...ws, ...(recompute ? [] : SAVED.map((k) => p[k]))]);
    return {
      value: output(xi, y, p.z, wi), // (B, L, D)
      gradFunc: (dOut: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy, ...rest] = saved;
        const ww = { ...wi };
        keys.forEach((k, i) => ((ww as unknown as Record<Key, tf.Tensor>)[k] = rest[i]));
        const kept = rest.slice(keys.length);
        const sp = recompute ? projections(sx, ww, dims) : (Object.fromEntries(SAVED.map((k, i) => [k, kept[i]])) as unknown as Projections);
        const { dx, dw } = backward(sx, sy, ww, dims, dOut, sp);
        return [dx, ...keys.map((k) => dw[k] as tf.Tensor)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, ...keys.map((k) => w[k] as tf.Tensor));
}
