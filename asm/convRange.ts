/**
 * Depthwise causal conv1d over a range of channels [e0, e1), for the threaded build (asm/threaded.ts): the
 * arithmetic of convForward / convBackward in asm/conv.ts per channel, in the same order (rows t ascending, taps
 * k ascending, float32 blocks of T_BLOCK rows flushed into float64), so each channel's results are bit for bit the
 * single-threaded ones whatever the split.
 *
 * Shape glossary (row-major float32): B batch, L length, ED inner channels (the row stride), K conv width.
 */

/** Rows (b, t) summed in float32 before the weight and bias gradients are flushed to float64 (as in conv.ts). */
const T_BLOCK: i32 = 32;

// @ts-ignore: decorator valid in AssemblyScript
@inline
function fma(dst: usize, a: usize, b: usize, bytes: usize): void {
  const vec = bytes & ~(<usize>15);
  let j: usize = 0;
  for (; j < vec; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), f32x4.mul(v128.load(a + j), v128.load(b + j))));
  for (; j < bytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + load<f32>(a + j) * load<f32>(b + j));
}

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

/** convForward (asm/conv.ts) for channels [e0, e1): x, y (B, L, ED); w (K, ED); bias (ED). */
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
 * convBackward (asm/conv.ts) for channels [e0, e1): dx (B, L, ED) this range's columns; dw (K, ED) and dbias (ED)
 * this range's entries; scratch: convRangeScratchBytes(e1 - e0, K) bytes of this range's own.
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
  const acc32 = scratch;
  const acc64 = scratch + (<usize>n << 2);
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
