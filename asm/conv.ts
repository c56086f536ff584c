/**
 * Depthwise causal conv1d with bias, forward and backward, in WebAssembly SIMD (AssemblyScript source).
 * Part of the scan.wasm module (re-exported by scan.ts); driven by src/ops/kernels/simd/conv.ts. Same arithmetic as
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
 * Forward conv.
 * @param x    (B, L, ED)
 * @param w    (K, ED)
 * @param bias (ED)
 * @param y    (B, L, ED) output
 */
export function convForward(x: usize, w: usize, bias: usize, y: usize, B: i32, L: i32, ED: i32, K: i32): void {
  const row = <usize>ED << 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const yo = y + <usize>(b * L + t) * row;
      memory.copy(yo, bias, row);
      for (let k = max(0, K - 1 - t); k < K; k++) {
        fma(yo, w + <usize>k * row, x + <usize>(b * L + t - (K - 1) + k) * row, row);
      }
    }
  }
}

/** Bytes of scratch convBackward needs: float32 and float64 accumulators of (K + 1, ED). */
export function convScratchBytes(ED: i32, K: i32): usize {
  return <usize>(K + 1) * <usize>ED * 12;
}

/**
 * Backward conv: gradients of sum(y * dy).
 * @param x       (B, L, ED)
 * @param w       (K, ED)
 * @param dy      (B, L, ED)
 * @param dx      (B, L, ED) output
 * @param dw      (K, ED) output
 * @param dbias   (ED) output
 * @param scratch convScratchBytes(ED, K) bytes
 */
export function convBackward(
  x: usize, w: usize, dy: usize, dx: usize, dw: usize, dbias: usize, scratch: usize,
  B: i32, L: i32, ED: i32, K: i32,
): void {
  const row = <usize>ED << 2;
  const n = (K + 1) * ED; // accumulators: rows 0..K-1 the weight taps, row K the bias
  const acc32 = scratch; // (K + 1, ED) float32
  const acc64 = scratch + (<usize>n << 2); // (K + 1, ED) float64
  memory.fill(scratch, 0, convScratchBytes(ED, K));
  memory.fill(dx, 0, <usize>(B * L) * row);
  let rows = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const g = dy + <usize>(b * L + t) * row;
      addTo(acc32 + <usize>K * row, g, row);
      for (let k = max(0, K - 1 - t); k < K; k++) {
        const xo = <usize>(b * L + t - (K - 1) + k) * row;
        fma(acc32 + <usize>k * row, g, x + xo, row);
        fma(dx + xo, g, w + <usize>k * row, row);
      }
      if (++rows == T_BLOCK) {
        flush(acc64, acc32, n);
        rows = 0;
      }
    }
  }
  flush(acc64, acc32, n);
  for (let j = 0; j < n; j++) {
    const v = <f32>load<f64>(acc64 + (<usize>j << 3));
    if (j < K * ED) store<f32>(dw + (<usize>j << 2), v);
    else store<f32>(dbias + (<usize>(j - K * ED) << 2), v);
  }
}
