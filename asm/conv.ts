/**
 * Depthwise causal conv1d with bias, forward and backward, in WebAssembly SIMD (AssemblyScript source).
 * Part of the scan.wasm module (re-exported by scan.ts); driven by src/ops/kernels/simd/conv.ts. One implementation
 * over a range of channels [e0, e1): the single-threaded entry points run it over [0, ED), each thread of the
 * threaded build (asm/threaded.ts, src/node/simdPool.ts) over its own range, in the same order per channel (rows t
 * ascending, taps k ascending), so results are bit for bit the same whatever the split. Same arithmetic as
 * convForward/convBackward in src/ops/kernels/js/convMath.ts:
 *   y[b, t, e] = bias[e] + sum_k w[k, e] x[b, t - (K-1) + k, e]   (zeros before t = 0)
 *
 * Shape glossary (row-major float32):
 *   B  batch
 *   L  sequence length
 *   ED inner channels; vectors run over ED in f32x4 steps, a scalar loop takes the ED % 4 tail
 *   K  conv width
 *
 * Precision: the weight and bias gradients sum B * L terms; they are accumulated in float32 over blocks of
 * T_BLOCK rows and flushed into float64.
 * All pointers are byte offsets into this module's memory, 16-byte aligned.
 */

/** Rows (b, t) summed in float32 before the weight and bias gradients are flushed to float64. */
const T_BLOCK: i32 = 32;

/** dst[j] += a[j] * b[j] over `bytes` bytes of float32 (vectors, then the scalar tail). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function fma(dst: usize, a: usize, b: usize, bytes: usize): void {
  const vec = bytes & ~(<usize>15);
  let j: usize = 0;
  for (; j < vec; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), f32x4.mul(v128.load(a + j), v128.load(b + j))));
  for (; j < bytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + load<f32>(a + j) * load<f32>(b + j));
}

/** dst[j] += src[j] over `bytes` bytes of float32. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function addTo(dst: usize, src: usize, bytes: usize): void {
  const vec = bytes & ~(<usize>15);
  let j: usize = 0;
  for (; j < vec; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), v128.load(src + j)));
  for (; j < bytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + load<f32>(src + j));
}

/** f64 dst[j] += f32 src[j], then src[j] = 0, for `count` values. */
function flush(dst: usize, src: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const s = src + (<usize>j << 2);
    const d = dst + (<usize>j << 3);
    store<f64>(d, load<f64>(d) + <f64>load<f32>(s));
    store<f32>(s, 0);
  }
}

/**
 * Forward conv of channels [e0, e1).
 * @param x    (B, L, ED)
 * @param w    (K, ED)
 * @param bias (ED)
 * @param y    (B, L, ED) output, this range's columns
 */
export function convForwardRange(x: usize, w: usize, bias: usize, y: usize, B: i32, L: i32, ED: i32, K: i32, e0: i32, e1: i32): void {
  const row = <usize>ED << 2;
  const off = <usize>e0 << 2;
  const width = <usize>(e1 - e0) << 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const yo = y + <usize>(b * L + t) * row + off;
      memory.copy(yo, bias + off, width);
      for (let k = max(0, K - 1 - t); k < K; k++) {
        fma(yo, w + <usize>k * row + off, x + <usize>(b * L + t - (K - 1) + k) * row + off, width);
      }
    }
  }
}

/** Bytes of scratch convBackwardRange needs for a range of W channels: float32 and float64 (K + 1, W). */
export function convRangeScratchBytes(W: i32, K: i32): usize {
  return <usize>(K + 1) * <usize>W * 12;
}

/**
 * Backward conv of channels [e0, e1): gradients of sum(y * dy).
 * @param x       (B, L, ED)
 * @param w       (K, ED)
 * @param dy      (B, L, ED)
 * @param dx      (B, L, ED) output, this range's columns
 * @param dw      (K, ED) output, this range's entries
 * @param dbias   (ED) output, this range's entries
 * @param scratch convRangeScratchBytes(e1 - e0, K) bytes of this range's own
 */
export function convBackwardRange(
  x: usize, w: usize, dy: usize, dx: usize, dw: usize, dbias: usize, scratch: usize,
  B: i32, L: i32, ED: i32, K: i32, e0: i32, e1: i32,
): void {
  const row = <usize>ED << 2;
  const off = <usize>e0 << 2;
  const W = e1 - e0;
  const width = <usize>W << 2;
  const n = (K + 1) * W; // accumulators: rows 0..K-1 the taps, row K the bias, each W wide
  const acc32 = scratch; // (K + 1, W) float32
  const acc64 = scratch + (<usize>n << 2); // (K + 1, W) float64
  memory.fill(scratch, 0, convRangeScratchBytes(W, K));
  for (let r = 0; r < B * L; r++) memory.fill(dx + <usize>r * row + off, 0, width);
  let rows = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const g = dy + <usize>(b * L + t) * row + off;
      addTo(acc32 + <usize>K * width, g, width);
      for (let k = max(0, K - 1 - t); k < K; k++) {
        const xo = <usize>(b * L + t - (K - 1) + k) * row + off;
        fma(acc32 + <usize>k * width, g, x + xo, width);
        fma(dx + xo, g, w + <usize>k * row + off, width);
      }
      if (++rows == T_BLOCK) {
        flush(acc64, acc32, n);
        rows = 0;
      }
    }
  }
  flush(acc64, acc32, n);
  for (let k = 0; k <= K; k++) {
    const dst = k < K ? dw + <usize>k * row + off : dbias + off;
    for (let j = 0; j < W; j++) store<f32>(dst + (<usize>j << 2), <f32>load<f64>(acc64 + (<usize>(k * W + j) << 3)));
  }
}

/** Forward conv over all channels: {@link convForwardRange} over [0, ED). */
export function convForward(x: usize, w: usize, bias: usize, y: usize, B: i32, L: i32, ED: i32, K: i32): void {
  convForwardRange(x, w, bias, y, B, L, ED, K, 0, ED);
}

/** Bytes of scratch convBackward needs: float32 and float64 accumulators of (K + 1, ED). */
export function convScratchBytes(ED: i32, K: i32): usize {
  return convRangeScratchBytes(ED, K);
}

/** Backward conv over all channels: {@link convBackwardRange} over [0, ED); scratch: convScratchBytes(ED, K) bytes. */
export function convBackward(
  x: usize, w: usize, dy: usize, dx: usize, dw: usize, dbias: usize, scratch: usize,
  B: i32, L: i32, ED: i32, K: i32,
): void {
  convBackwardRange(x, w, dy, dx, dw, dbias, scratch, B, L, ED, K, 0, ED);
}
