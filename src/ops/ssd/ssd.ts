/**
 * The Mamba-2 scan (state space duality, SSD): a scalar decay per head, B and C shared by the heads of a group.
 *
 * Shape letters: B batch, L length, H heads, P head dim, G groups, N state size, Q chunk length, c chunks.
 *
 *   h_t = exp(Δ_t·A_h)·h_{t−1} + Δ_t·x_t ⊗ B_t      h (P, N) per head; head h reads group h / (H/G)
 *   y_t = h_t·C_t + D_h·x_t
 *
 * Three ways to compute it, equal up to rounding:
 *   'chunked' (ssdChunked): within a chunk of Q steps as matmuls — y = (C·Bᵀ ∘ L)·(Δ·x), L the causal decay
 *     matrix exp(cumsum(Δ·A)_i − cumsum(Δ·A)_j) — and between chunks a recurrence over c = ⌈L/Q⌉ chunk states.
 *     Every op is a tf op, so the gradient comes from tf autodiff. Memory O(B·H·(L·Q + c·P·N)).
 *   'sequential' (ssdSequential): the recurrence above, one step at a time (the reference).
 *   'fused' (fusedSsd.ts): one kernel for the recurrence with a hand-written backward (cpu, wasm, webgpu); memory
 *     O(B·L·H·P), never a state per step. 'auto' picks 'fused' where the backend has the kernel, else 'chunked'
 *     (the flag MAMBA_TFJS_SSD_MODE can pin what 'auto' means).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedSsd, hasFusedSsdKernel } from './fusedSsd';
import { ssdModeFlag } from '../../flags';

/**
 * How the SSD scan runs: 'chunked' (matmuls within chunks, a recurrence between them), 'sequential' (a loop over L),
 * 'fused' (one kernel, hand-written backward) or 'auto' (fused where the backend has the kernel, else chunked).
 */
export type SsdMode = 'auto' | 'fused' | 'chunked' | 'sequential';

/** The inputs of the SSD scan (discretization not applied). */
export interface SsdInputs {
  /** Input (B, L, H, P). */
  x: tf.Tensor; // (B, L, H, P)
  /** Positive step sizes Δ (B, L, H). */
  dt: tf.Tensor; // (B, L, H) Δ after softplus
  /** A per head (H), negative. */
  a: tf.Tensor; // (H) A = −exp(A_log)
  /** B (B, L, G, N). */
  bm: tf.Tensor; // (B, L, G, N)
  /** C (B, L, G, N). */
  cm: tf.Tensor; // (B, L, G, N)
  /** The skip weight D per head (H). */
  d: tf.Tensor; // (H)
}

/** B or C per head: (B, L, G, N) → (B, L, H, N), head h taking group h / (H/G). */
export function perHead(t: tf.Tensor, heads: number): tf.Tensor {
  const g = t.shape[2] as number;
  if (g === heads) return t;
  const idx = Array.from({ length: heads }, (_, h) => Math.floor(h / (heads / g)));
  return tf.gather(t, tf.tensor1d(idx, 'int32'), 2); // (B, L, H, N)
}

function check(i: SsdInputs, what: string): number[] {
  const [b, l, h, p] = i.x.shape as number[];
  const [, , g, n] = i.bm.shape as number[];
  const ok = i.x.rank === 4 && i.dt.rank === 3 && i.dt.shape[2] === h && i.a.shape[0] === h && i.d.shape[0] === h &&
    i.bm.rank === 4 && i.cm.rank === 4 && i.cm.shape[2] === g && i.cm.shape[3] === n && h % g === 0 &&
    i.dt.shape[0] === b && i.dt.shape[1] === l && i.bm.shape[1] === l && i.cm.shape[1] === l;
  if (!ok) {
    throw new Error(`${what}: expected x (B, L, H, P), dt (B, L, H), A (H), B and C (B, L, G, N) with G dividing H, D (H); ` +
      `got [${i.x.shape}], [${i.dt.shape}], [${i.a.shape}], [${i.bm.shape}], [${i.cm.shape}], [${i.d.shape}]`);
  }
  return [b, l, h, p, n];
}

/**
 * The scan one step at a time. Returns y (B, L, H, P) and the final state (B, H, P, N).
 * @param h0 (B, H, P, N) the state before the first step (default zeros)
 */
export function ssdSequential(i: SsdInputs, h0?: tf.Tensor): { y: tf.Tensor; state: tf.Tensor } {
  const [b, l, h, p, n] = check(i, 'ssdSequential');
  return tf.tidy(() => {
    const bh = perHead(i.bm, h); // (B, L, H, N)
    const ch = perHead(i.cm, h); // (B, L, H, N)
    const decay = tf.exp(tf.mul(i.dt, i.a)); // (B, L, H)
    const xdt = tf.mul(i.x, tf.expandDims(i.dt, -1)); // (B, L, H, P)
    let state = h0 ?? tf.zeros([b, h, p, n]); // (B, H, P, N)
    const ys: tf.Tensor[] = [];
    const at = (t: tf.Tensor, s: number) => tf.squeeze(tf.slice(t, [0, s], [b, 1]), [1]);
    for (let s = 0; s < l; s++) {
      const dA = tf.reshape(at(decay, s), [b, h, 1, 1]); // (B, H, 1, 1)
      const inp = tf.mul(tf.expandDims(at(xdt, s), -1), tf.expandDims(at(bh, s), 2)); // (B, H, P, N)
      state = tf.add(tf.mul(state, dA), inp); // (B, H, P, N)
      ys.push(tf.sum(tf.mul(state, tf.expandDims(at(ch, s), 2)), -1)); // (B, H, P)
    }
    const y = tf.add(tf.stack(ys, 1), tf.mul(i.x, tf.reshape(i.d, [1, 1, h, 1]))); // (B, L, H, P)
    return { y, state };
  });
}

/** Pad axis 1 of t with zeros to length lp. */
function padTime(t: tf.Tensor, lp: number): tf.Tensor {
  const l = t.shape[1] as number;
  if (lp === l) return t;
  return tf.pad(t, t.shape.map((_, k) => (k === 1 ? [0, lp - l] : [0, 0])) as [number, number][]);
}

/**
 * The chunked scan. Returns y (B, L, H, P) and the final state (B, H, P, N).
 * @param chunk Q, the chunk length (L need not be a multiple: the tail is padded with Δ = 0, x = 0, which
 *   neither decays nor feeds the state)
 * @param h0 (B, H, P, N) the state before the first step (default zeros)
 */
export function ssdChunked(i: SsdInputs, chunk: number, h0?: tf.Tensor): { y: tf.Tensor; state: tf.Tensor } {
  const [b, l, h, p, n] = check(i, 'ssdChunked');
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`ssdChunked: expected a positive integer chunk length, got ${chunk}`);
  return tf.tidy(() => {
    const q = Math.min(chunk, l);
    const c = Math.ceil(l / q);
    const lp = c * q;
    // To (B, H, c, Q, ·): heads first, then chunks, then positions within the chunk.
    const toChunks = (t: tf.Tensor, last: number) => tf.transpose(tf.reshape(padTime(t, lp), [b, c, q, h, last]), [0, 3, 1, 2, 4]);
    const xdt = toChunks(tf.mul(i.x, tf.expandDims(i.dt, -1)), p); // (B, H, c, Q, P)
    const bh = toChunks(perHead(i.bm, h), n); // (B, H, c, Q, N)
    const ch = toChunks(perHead(i.cm, h), n); // (B, H, c, Q, N)
    const da = tf.reshape(toChunks(tf.expandDims(tf.mul(i.dt, i.a), -1), 1), [b, h, c, q]); // (B, H, c, Q) Δ·A
    const acs = tf.cumsum(da, 3); // (B, H, c, Q) cumulative log-decay within each chunk
    // Within chunks: L[i, j] = exp(acs_i − acs_j) for j ≤ i, else 0 (masked before exp: no overflow).
    const seg = tf.sub(tf.expandDims(acs, 4), tf.expandDims(acs, 3)); // (B, H, c, Q, Q)
    // Porting note: the mask is added (0 / −∞), not applied with tf.where: a rank-5 tf.where broadcasts its
    // condition through Tile, which tfjs-backend-webgpu runs on the CPU with a synchronous read (OffscreenCanvas:
    // absent in Node). Above the diagonal seg ≥ 0 is finite, so seg − ∞ = −∞ and exp gives 0 (and a 0 gradient).
    const causal = tf.linalg.bandPart(tf.ones([q, q]), -1, 0); // (Q, Q) lower triangle
    const maskAdd = tf.where(tf.cast(causal, 'bool'), tf.zerosLike(causal), tf.fill([q, q], -Infinity)); // (Q, Q)
    const lmat = tf.exp(tf.add(seg, maskAdd)); // (B, H, c, Q, Q)
    const scores = tf.mul(tf.matMul(ch, bh, false, true), lmat); // (B, H, c, Q, Q)
    const yDiag = tf.matMul(scores, xdt); // (B, H, c, Q, P)
    // Each chunk's own contribution to the state at its end: Σ_j exp(acs_last − acs_j)·B_j ⊗ Δx_j.
    const last = tf.slice(acs, [0, 0, 0, q - 1], [b, h, c, 1]); // (B, H, c, 1)
    const toEnd = tf.exp(tf.sub(last, acs)); // (B, H, c, Q)
    const chunkStates = tf.matMul(bh, tf.mul(xdt, tf.expandDims(toEnd, -1)), true, false); // (B, H, c, N, P)
    // Between chunks: S_{k+1} = exp(acs_last,k)·S_k + chunkStates_k, a recurrence over c chunks.
    const chunkDecay = tf.exp(last); // (B, H, c, 1)
    let s = h0 ? tf.transpose(h0, [0, 1, 3, 2]) : tf.zeros([b, h, n, p]); // (B, H, N, P)
    const before: tf.Tensor[] = [];
    for (let k = 0; k < c; k++) {
      before.push(s);
      const dk = tf.reshape(tf.slice(chunkDecay, [0, 0, k, 0], [b, h, 1, 1]), [b, h, 1, 1]); // (B, H, 1, 1)
      s = tf.add(tf.mul(s, dk), tf.reshape(tf.slice(chunkStates, [0, 0, k, 0, 0], [b, h, 1, n, p]), [b, h, n, p])); // (B, H, N, P)
    }
    const prev = tf.stack(before, 2); // (B, H, c, N, P) the state entering each chunk
    const yOff = tf.mul(tf.matMul(ch, prev), tf.expandDims(tf.exp(acs), -1)); // (B, H, c, Q, P)
    const yc = tf.reshape(tf.transpose(tf.add(yDiag, yOff), [0, 2, 3, 1, 4]), [b, lp, h, p]); // (B, Lp, H, P)
    const y = tf.add(tf.slice(yc, [0, 0, 0, 0], [b, l, h, p]), tf.mul(i.x, tf.reshape(i.d, [1, 1, h, 1]))); // (B, L, H, P)
    return { y, state: tf.transpose(s, [0, 1, 3, 2]) }; // (B, L, H, P), (B, H, P, N)
  });
}

/**
 * Resolves 'auto' against the flag MAMBA_TFJS_SSD_MODE and the active backend: 'fused' where the backend has the
 * fused kernel for head dim `p` and state size `n`, else 'chunked'.
 */
export function resolveSsdMode(mode: SsdMode = 'auto', p = 1, n = 1): Exclude<SsdMode, 'auto'> {
  const m = mode === 'auto' ? ssdModeFlag() : mode;
  if (m !== 'auto') return m;
  return hasFusedSsdKernel(tf.getBackend(), p, n) ? 'fused' : 'chunked';
}

/** The scan in the given mode ('chunked' needs the chunk length). */
export function ssd(i: SsdInputs, mode: SsdMode, chunk: number, h0?: tf.Tensor): { y: tf.Tensor; state: tf.Tensor } {
  if (!['auto', 'fused', 'chunked', 'sequential'].includes(mode)) {
    throw new Error(`ssd: expected mode auto, fused, chunked or sequential, got ${JSON.stringify(mode)}`);
  }
  const m = resolveSsdMode(mode, i.x.shape[3], i.bm.shape[3]);
  if (m === 'sequential') return ssdSequential(i, h0);
  if (m === 'chunked') return ssdChunked(i, chunk, h0);
  check(i, 'ssd');
  return fusedSsd(i, h0);
}

/**
 * One recurrent step: state (B, H, P, N), x (B, H, P), dt (B, H), A (H), B and C (B, G, N), D (H) →
 * y (B, H, P) and the next state.
 */
export function ssdStep(state: tf.Tensor, x: tf.Tensor, dt: tf.Tensor, a: tf.Tensor, bm: tf.Tensor, cm: tf.Tensor, d: tf.Tensor): { y: tf.Tensor; state: tf.Tensor } {
  return tf.tidy(() => {
    const [b, h] = x.shape as number[];
    const n = bm.shape[2] as number;
    const bh = tf.reshape(perHead(tf.expandDims(bm, 1), h), [b, h, 1, n]); // (B, H, 1, N)
    const chh = tf.reshape(perHead(tf.expandDims(cm, 1), h), [b, h, 1, n]); // (B, H, 1, N)
    const dA = tf.reshape(tf.exp(tf.mul(dt, a)), [b, h, 1, 1]); // (B, H, 1, 1)
    const xdt = tf.expandDims(tf.mul(x, tf.expandDims(dt, -1)), -1); // (B, H, P, 1)
    const next = tf.add(tf.mul(state, dA), tf.mul(xdt, bh)); // (B, H, P, N)
    const y = tf.add(tf.sum(tf.mul(next, chh), -1), tf.mul(x, tf.reshape(d, [1, h, 1]))); // (B, H, P)
    return { y, state: next };
  });
}
