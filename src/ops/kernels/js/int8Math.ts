/**
 * int8 weight-only quantization in plain JS: quantizing a float32 weight with one scale per output row, the
 * int8 × float32 product (the cpu backend's kernel, and the fallback of the SIMD module asm/int8.ts), and the
 * row lookup of a quantized embedding.
 *
 * Shape glossary (row-major):
 *   M  rows of activations
 *   I  input features (columns of a weight row)
 *   O  output features (rows of the weight)
 *   RB bytes per stored row: I rounded up to a multiple of 4, zero-padded (rows are kept as int32 words, 4 int8 each)
 *
 * Quantization (symmetric, per row): scale[o] = max_i |w[o, i]| / 127 (1 for an all-zero row),
 * q[o, i] = round(w[o, i] / scale[o]) ∈ [−127, 127]; dequant(q)[o, i] = q[o, i] · scale[o].
 */

/** RB: bytes of one stored row of I int8 values (a multiple of 4). */
export function int8RowBytes(i: number): number {
  return Math.ceil(i / 4) * 4;
}

/** A weight quantized by rows: int8 rows packed 4 to an int32 word (little-endian bytes), and the row scales. */
export interface Int8Rows {
  /** (O, RB/4) int32 words; the bytes are the int8 rows, each zero-padded to RB. */
  q: Int32Array;
  /** (O) float32. */
  scale: Float32Array;
}

/** The int8 bytes of packed words (a view, no copy). */
export function int8Bytes(q: Int32Array): Int8Array {
  return new Int8Array(q.buffer, q.byteOffset, q.byteLength);
}

/**
 * Quantizes rows: `row(o, dst)` writes row o (I float32 values) into dst. Rows come one at a time, so a weight
 * stored transposed (tfjs's (I, O) kernels) needs no transposed copy.
 */
export function quantizeRows(o: number, i: number, row: (r: number, dst: Float32Array) => void): Int8Rows {
  const rb = int8RowBytes(i);
  const q = new Int32Array((o * rb) / 4);
  const bytes = int8Bytes(q);
  const scale = new Float32Array(o);
  const buf = new Float32Array(i);
  for (let r = 0; r < o; r++) {
    row(r, buf);
    let mx = 0;
    for (let k = 0; k < i; k++) mx = Math.max(mx, Math.abs(buf[k]));
    if (!Number.isFinite(mx)) throw new Error(`int8 quantization: expected finite weights, got ${mx} in row ${r}`);
    const s = mx > 0 ? mx / 127 : 1;
    scale[r] = s;
    const base = r * rb;
    for (let k = 0; k < i; k++) bytes[base + k] = Math.round(buf[k] / s);
  }
  return { q, scale };
}

/** Quantizes a row-major (O, I) float32 matrix. */
export function quantizeMatrix(w: Float32Array, o: number, i: number): Int8Rows {
  return quantizeRows(o, i, (r, dst) => dst.set(w.subarray(r * i, (r + 1) * i)));
}

/** Quantizes a tfjs kernel (I, O), row-major: rows of the result are its columns. */
export function quantizeKernel(k: Float32Array, i: number, o: number): Int8Rows {
  return quantizeRows(o, i, (r, dst) => {
    for (let c = 0; c < i; c++) dst[c] = k[c * o + r];
  });
}

/**
 * y (M, O) = x (M, I) · dequant(q)ᵀ [+ bias]: float32 activations, float64 sums.
 * @param q the int8 rows, RB bytes apart
 */
export function int8MatMulJs(
  x: Float32Array, q: Int8Array, scale: Float32Array, bias: Float32Array | null, y: Float32Array, m: number, i: number, o: number,
): void {
  const rb = int8RowBytes(i);
  for (let r = 0; r < m; r++) {
    const xo = r * i;
    for (let c = 0; c < o; c++) {
      const qo = c * rb;
      let s = 0;
      for (let k = 0; k < i; k++) s += x[xo + k] * q[qo + k];
      y[r * o + c] = s * scale[c] + (bias ? bias[c] : 0);
    }
  }
}

/** out (n, D) = dequant(q)[ids]: the rows of a quantized embedding; throws on an id outside [0, V). */
export function int8GatherJs(ids: Int32Array, q: Int8Array, scale: Float32Array, out: Float32Array, d: number): void {
  const rb = int8RowBytes(d);
  const v = scale.length;
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < v)) throw new Error(`int8 embedding: expected token ids in [0, ${v}), got ${id}`);
    const s = scale[id];
    const base = id * rb;
    for (let k = 0; k < d; k++) out[n * d + k] = q[base + k] * s;
  }
}
