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
 * FalconMamba's weightless RMS norms on Δ, B, C (dims.bcdtNormEps) are part of the op, forward and backward.
 *
 * Used by ResidualBlock.call when the scan runs fused (the active backend has the fused scan kernels) and no
 * mask is given; every other path (pscan, sequential, masks, decoding) keeps the layer-by-layer ops, which
 * are the reference this op is tested against.
 *
 * Known limitation: tfjs's internal test flag IS_TEST (tf.env().set('IS_TEST', true)) makes tfjs check that every
 * kernel leaves no data but its outputs; the tensors this op saves for its backward pass (y, and the kept
 * intermediates) count as leaks there, so training through the fused block throws under that flag. Leave it off,
 * or set MAMBA_TFJS_FUSED_BLOCK=0.
 *
 * Porting note: mamba.py differentiates its block with autograd; the official CUDA implementation fuses the
 * same way (recomputing the conv output in the backward pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RECOMPUTE_FLAG, recomputeAboveMiB, recomputePolicy } from '../../flags';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL } from '../kernels/names';
import { gateGrad, sigmoidMul, silu, siluGrad, siluMul } from '../activations/silu';
import { causalConv, causalConvGrad } from '../conv/causalConv';
import { matMulAdd, matMulTA, matMulTAEach, matMulTB, matMulTBAdd } from '../linear/matMul';
import { softplus } from '../activations/softplus';
import { rmsNormalize, rmsNormalizeGrad } from '../norm/rms';

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
  /** FalconMamba: the eps of the weightless RMS norms on Δ, B, C after x_proj; absent for Mamba. */
  bcdtNormEps?: number;
}

type Key = keyof FusedBlockWeights;
/** Input order of the op after x; optional biases join only when present. */
const KEYS: Key[] = ['normWeight', 'inProj', 'conv', 'xProj', 'dtProj', 'dtProjBias', 'aLog', 'd', 'outProj', 'inProjBias', 'convBias', 'outProjBias'];

const mm = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);

/** The forward intermediates, up to the scan's inputs (recomputed by the backward pass). */
function projections(x: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims) {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const { dtRank: r, dState: n } = dims;
  // Each tidy keeps only what the backward pass reads (the in_proj weight halves, sigmoids etc. go).
  const [xn, u, xr, z, wx, wz] = tf.tidy(() => {
    const xn = rmsNormalize(x, dims.eps); // (B, L, D)
    const u = tf.reshape(tf.mul(xn, w.normWeight), [b * l, dm]); // (BL, D)
    // x and z as two products with the halves of in_proj (small slices) rather than one product sliced after (two
    // (BL, ED) copies).
    const wx = tf.slice(w.inProj, [0, 0], [dm, ed]); // (D, ED)
    const wz = tf.slice(w.inProj, [0, ed], [dm, ed]); // (D, ED)
    const half = (wi: tf.Tensor, i: number) => (w.inProjBias ? matMulAdd(u, wi, tf.slice(w.inProjBias, [i * ed], [ed])) : mm(u, wi)); // (BL, ED)
    return [xn, u, tf.reshape(half(wx, 0), [b, l, ed]), half(wz, 1), wx, wz]; // …, x (B, L, ED), z (BL, ED), halves
  });
  const cpre = causalConv(xr, w.conv, w.convBias); // (B, L, ED)
  const [xc, dt, bm, cm, draw, delta, a, dbc] = tf.tidy(() => {
    const xc = silu(cpre); // (B, L, ED)
    const dbc = mm(tf.reshape(xc, [b * l, ed]), w.xProj); // (BL, R+2N)
    // dbc is kept only for FalconMamba's norms, whose backward reads their inputs.
    const norm = (t: tf.Tensor) => (dims.bcdtNormEps != null ? rmsNormalize(t, dims.bcdtNormEps) : t);
    const dt = norm(tf.slice(dbc, [0, 0], [b * l, r])); // (BL, R)
    const bm = tf.reshape(norm(tf.slice(dbc, [0, r], [b * l, n])), [b, l, n]); // (B, L, N)
    const cm = tf.reshape(norm(tf.slice(dbc, [0, r + n], [b * l, n])), [b, l, n]); // (B, L, N)
    const draw = matMulAdd(dt, w.dtProj, w.dtProjBias); // (BL, ED)
    const delta = tf.reshape(softplus(draw), [b, l, ed]); // (B, L, ED)
    return [xc, dt, bm, cm, draw, delta, tf.neg(tf.exp(w.aLog)), ...(dims.bcdtNormEps != null ? [dbc] : [])]; // …, A (ED, N)
  });
  return { xn, u, xr, z, cpre, xc, dt, bm, cm, draw, delta, a, wx, wz, dbc: dbc ?? null };
}

/** out_proj(y · silu(z)) + x, with g = y · silu(z) (BL, ED). */
function output(x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, w: FusedBlockWeights): tf.Tensor {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const g = siluMul(z, tf.reshape(y, [b * l, ed])); // (BL, ED)
  const x2 = tf.reshape(x, [b * l, dm]); // (BL, D)
  const res = w.outProjBias ? tf.add(x2, w.outProjBias) : x2; // (BL, D)
  return tf.reshape(matMulAdd(g, w.outProj, res), [b, l, dm]); // (B, L, D): x + out_proj(g) (+ bias)
}

function scan(p: ReturnType<typeof projections>, d: tf.Tensor): tf.Tensor {
  const inputs = { x: p.xc, delta: p.delta, A: p.a, B: p.bm, C: p.cm, D: d };
  return tf.engine().runKernel(FUSED_SCAN_KERNEL, inputs as unknown as tf.NamedTensorMap) as tf.Tensor; // (B, L, ED)
}

type Projections = ReturnType<typeof projections>;
/** The intermediates the backward pass reads, in save order. */
const SAVED: (keyof Projections)[] = ['xn', 'u', 'xr', 'z', 'cpre', 'xc', 'dt', 'bm', 'cm', 'draw', 'delta', 'a', 'wx', 'wz', 'dbc'];
/** SAVED for these dims: x_proj's output only with FalconMamba's norms. */
const savedFor = (dims: FusedBlockDims) => (dims.bcdtNormEps != null ? SAVED : SAVED.slice(0, -1));

/**
 * Whether the backward pass recomputes the intermediates (keeping only x and y per layer) rather than keeping
 * them from the forward pass. 'auto' (the flag MAMBA_TFJS_RECOMPUTE, see setRecomputeInBackward): on webgpu, for a
 * layer whose kept intermediates (`keptBytes`, see {@link keptBytes}) would pass MAMBA_TFJS_RECOMPUTE_ABOVE_MIB
 * (256 MiB), where memory is the scarce resource and the arithmetic cheap; never on cpu and wasm, where the
 * recomputation would cost more than the ops it saves. Below the threshold a webgpu step is host-bound and the
 * recomputation's ~20 dispatches a layer cost more than the memory they save. With no size given, 'auto' recomputes
 * on webgpu.
 */
export function recomputesInBackward(bytes?: number): boolean {
  const policy = recomputePolicy();
  return policy === 'auto' ? autoRecomputes(tf.getBackend(), bytes) : policy === 'true';
}

/** 'auto''s choice on `backend` for a layer keeping `bytes` (see recomputesInBackward). */
export function autoRecomputes(backend: string, bytes?: number): boolean {
  return backend === 'webgpu' && (bytes == null || bytes > recomputeAboveMiB() * 2 ** 20);
}

/** Bytes of the intermediates one layer keeps for its backward pass when it does not recompute them (SAVED). */
export function keptBytes(x: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims): number {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const bl = b * l;
  const dbc = bl * (dims.dtRank + 2 * dims.dState); // (BL, R+2N)
  // xn, u (BL, D); xr, z, cpre, xc, draw, delta (BL, ED); dt, B, C; A (ED, N); in_proj's halves; FalconMamba's x_proj output.
  return 4 * (2 * bl * dm + 6 * bl * ed + dbc + ed * dims.dState + 2 * dm * ed + (dims.bcdtNormEps != null ? dbc : 0));
}

/**
 * Whether the fused block recomputes its intermediates in the backward pass: true (least memory: per layer only
 * x and y are kept), false (fastest), or 'auto' (the default: on webgpu for layers whose kept intermediates would
 * pass MAMBA_TFJS_RECOMPUTE_ABOVE_MIB, see recomputesInBackward; never elsewhere). Measured on an H200, Mamba(256, 4)
 * at B 8, L 4096 (2026-12-03; 477 MB kept a layer): recompute 57 ms a step, 2.8 GiB of GPU memory (nvidia-smi); keep
 * 51 ms, 4.1 GiB. At L 1024 (119 MB a layer) keeping took 25–27 ms against recomputing's 26–39.
 * Sets the flag MAMBA_TFJS_RECOMPUTE (whose default is the environment variable of that name).
 */
export function setRecomputeInBackward(policy: boolean | 'auto'): void {
  if (policy !== 'auto' && typeof policy !== 'boolean') throw new Error(`setRecomputeInBackward: expected true, false or 'auto', got ${String(policy)}`);
  tf.env().set(RECOMPUTE_FLAG, String(policy));
}

/**
 * Gradients of sum(out · dOut) for x and every weight, from the intermediates p, in stages: each stage's
 * temporaries die with its tidy, and each intermediate is disposed once the last stage that reads it is done
 * (`p` belongs to the caller's tidy; disposing early only lowers the peak).
 */
function backward(x: tf.Tensor, y: tf.Tensor, w: FusedBlockWeights, dims: FusedBlockDims, dOut: tf.Tensor, p: Projections): { dx: tf.Tensor; dw: Partial<Record<Key, tf.Tensor>> } {
  const [b, l, dm] = x.shape as number[];
  const ed = w.conv.shape[1] as number;
  const bl = b * l;
  const { dState: n, dtRank: r } = dims;
  const dw: Partial<Record<Key, tf.Tensor>> = {};
  // Gate and out_proj: out = g @ out_proj (+ bias) + x with g = y · silu(z).
  const [dOutProj, dy, dz, dOutProjBias] = tf.tidy(() => {
    const dO = tf.reshape(dOut, [bl, dm]); // (BL, D)
    const y2 = tf.reshape(y, [bl, ed]); // (BL, ED)
    const dg = matMulTB(dO, w.outProj); // (BL, ED)
    const [g, dyg, dzg] = gateGrad(p.z, y2, dg); // (BL, ED) ×3: y·silu(z), dg·silu(z), dg·y·silu'(z)
    return [
      matMulTA(g, dO), // (ED, D)
      tf.reshape(dyg, [b, l, ed]), // (B, L, ED)
      dzg, // (BL, ED)
      ...(w.outProjBias ? [tf.sum(dO, 0)] : []), // (D)
    ];
  });
  dw.outProj = dOutProj;
  if (w.outProjBias) dw.outProjBias = dOutProjBias;
  tf.dispose(p.z);
  // Selective scan.
  const scanIn = { x: p.xc, delta: p.delta, A: p.a, B: p.bm, C: p.cm, D: w.d, dy };
  const [dxc1, ddelta, dA, dB, dC, dD] = tf.engine().runKernel(FUSED_SCAN_GRAD_KERNEL, scanIn as unknown as tf.NamedTensorMap) as tf.Tensor[];
  tf.dispose([dy, p.delta, p.bm, p.cm]);
  dw.d = dD; // (ED)
  dw.aLog = tf.mul(dA, p.a); // (ED, N): d/dA_log of −exp(A_log) is A
  // Δ = softplus(dt @ dt_proj + bias), then x_proj: (dt, B, C) = xc @ x_proj.
  const [dDtProjBias, dDtProj, dXProj, dxc] = tf.tidy(() => {
    const ddraw = sigmoidMul(p.draw, tf.reshape(ddelta, [bl, ed])); // (BL, ED)
    const parts = [matMulTB(ddraw, w.dtProj), tf.reshape(dB, [bl, n]), tf.reshape(dC, [bl, n])]; // (BL, R), (BL, N) ×2
    const eps = dims.bcdtNormEps;
    // FalconMamba: back through the three norms, each from its own input (a slice of x_proj's output).
    const ddbc = eps == null ? tf.concat(parts, 1) : tf.concat(parts.map((g, i) => {
      const at = [0, r, r + n][i];
      return rmsNormalizeGrad(tf.slice(p.dbc as tf.Tensor, [0, at], [bl, g.shape[1] as number]), eps, g);
    }), 1); // (BL, R+2N)
    return [
      tf.sum(ddraw, 0), // (ED)
      matMulTA(p.dt, ddraw), // (R, ED)
      matMulTA(tf.reshape(p.xc, [bl, ed]), ddbc), // (ED, R+2N)
      matMulTBAdd(ddbc, w.xProj, tf.reshape(dxc1, [bl, ed])), // (BL, ED)
    ];
  });
  Object.assign(dw, { dtProjBias: dDtProjBias, dtProj: dDtProj, xProj: dXProj });
  tf.dispose([dxc1, ddelta, dA, dB, dC, p.draw, p.dt, p.xc, ...(p.dbc ? [p.dbc] : [])]);
  // silu and conv.
  const dcpre = tf.tidy(() => tf.reshape(siluGrad(tf.reshape(p.cpre, [bl, ed]), dxc), [b, l, ed])); // (B, L, ED)
  tf.dispose([dxc, p.cpre]);
  const [dxr, dConv, dConvBias] = causalConvGrad(p.xr, w.conv, w.convBias, dcpre);
  tf.dispose([dcpre, p.xr]);
  dw.conv = dConv; // (K, ED)
  if (w.convBias) dw.convBias = dConvBias; // (ED)
  // in_proj: (x, z) = u @ in_proj (+ bias).
  const [dInProj, du, dInProjBias] = tf.tidy(() => {
    const dx2 = tf.reshape(dxr, [bl, ed]); // (BL, ED)
    return [
      tf.concat(matMulTAEach(p.u, [dx2, dz]), 1), // (D, 2·ED)
      tf.reshape(matMulTBAdd(dx2, p.wx, matMulTB(dz, p.wz)), [b, l, dm]), // (B, L, D)
      ...(w.inProjBias ? [tf.concat([tf.sum(dx2, 0), tf.sum(dz, 0)])] : []), // (2·ED)
    ];
  });
  dw.inProj = dInProj;
  if (w.inProjBias) dw.inProjBias = dInProjBias;
  tf.dispose([dxr, dz, p.u, p.wx, p.wz]);
  // RMSNorm: xn = x·r, r = (mean(x²) + eps)^−½  ⇒  dx = r·(dxn − xn·mean(dxn·xn)), then the residual's dOut.
  const [dNorm, dx] = tf.tidy(() => {
    const dxn = tf.mul(du, w.normWeight); // (B, L, D)
    return [tf.sum(tf.reshape(tf.mul(du, p.xn), [bl, dm]), 0), tf.add(dOut, rmsNormalizeGrad(x, dims.eps, dxn))]; // (D), (B, L, D)
  });
  dw.normWeight = dNorm;
  return { dx, dw };
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
    const recompute = recomputesInBackward(keptBytes(xi, wi, dims));
    // The engine runs this forward in a tidy: what save() does not keep (clones) goes when it returns.
    const p = projections(xi, wi, dims);
    const y = scan(p, wi.d); // (B, L, ED)
    save([xi, y, ...ws, ...(recompute ? [] : savedFor(dims).map((k) => p[k] as tf.Tensor))]);
    const value = output(xi, y, p.z, wi); // (B, L, D)
    return {
      value, // (B, L, D)
      // customGrad runs gradFunc outside any tidy (only the thunks it wraps the results in are tidied): without
      // this one, every layer's backward intermediates would live until the end of the whole backward pass.
      gradFunc: (dOut: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sx, sy, ...rest] = saved;
        const ww = { ...wi };
        keys.forEach((k, i) => ((ww as unknown as Record<Key, tf.Tensor>)[k] = rest[i]));
        const kept = rest.slice(keys.length);
        const sp = recompute ? projections(sx, ww, dims) : (Object.fromEntries(savedFor(dims).map((k, i) => [k, kept[i]])) as unknown as Projections);
        const { dx, dw } = backward(sx, sy, ww, dims, dOut, sp);
        return [dx, ...keys.map((k) => dw[k] as tf.Tensor)];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, ...keys.map((k) => w[k] as tf.Tensor));
}
