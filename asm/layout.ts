/**
 * Layout kernels of the in-heap module (asm/int8.ts's root, imported memory: tfjs-backend-wasm's heap), for the wasm
 * backend's Transpose and Sum over leading axes (src/ops/kernels/wasmFixes.ts): a 2-D transpose by 4 × 4 SIMD blocks,
 * and column sums in float64. Each works on a range of rows (transpose) or columns (sums), so the heap pool can split
 * one call over threads with the single-threaded result bit for bit.
 *
 * Shape glossary: R rows, C columns of the (R, C) float32 input. Pointers are byte offsets into the heap.
 */

/** One 4 × 4 block: rows r … r + 3, columns c … c + 3 of x (R, C) into y (C, R). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function block4(x: usize, y: usize, rowX: usize, rowY: usize, r: i32, c: i32): void {
  const x0 = x + <usize>r * rowX + (<usize>c << 2);
  const a = v128.load(x0); // x[r, c..c+3]
  const b = v128.load(x0 + rowX);
  const cc = v128.load(x0 + 2 * rowX);
  const d = v128.load(x0 + 3 * rowX);
  const ab0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const ab1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const cd0 = v128.shuffle<f32>(cc, d, 0, 4, 1, 5); // c0 d0 c1 d1
  const cd1 = v128.shuffle<f32>(cc, d, 2, 6, 3, 7); // c2 d2 c3 d3
  const yc = y + <usize>c * rowY + (<usize>r << 2);
  v128.store(yc, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5)); // column c: a0 b0 c0 d0
  v128.store(yc + rowY, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7)); // column c + 1
  v128.store(yc + 2 * rowY, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5)); // column c + 2
  v128.store(yc + 3 * rowY, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7)); // column c + 3
}

/**
 * y (C, R) = xᵀ for the rows [r0, r1) of x (R, C): y[c, r] = x[r, c]. Tiles of 16 rows: for each 4 columns, four
 * 4 × 4 blocks (loads, a shuffle, stores) fill whole 64-byte lines of four rows of y before the next columns (rows
 * of y a power-of-two apart share cache sets: lines written 16 bytes at a time would be evicted between writes);
 * the edges element by element.
 */
export function transposeRows(x: usize, y: usize, R: i32, C: i32, r0: i32, r1: i32): void {
  const rowX = <usize>C << 2; // bytes of a row of x
  const rowY = <usize>R << 2; // bytes of a row of y
  const c4 = C & ~3;
  let r = r0;
  for (; r + 16 <= r1; r += 16) {
    for (let c = 0; c < c4; c += 4) {
      block4(x, y, rowX, rowY, r, c);
      block4(x, y, rowX, rowY, r + 4, c);
      block4(x, y, rowX, rowY, r + 8, c);
      block4(x, y, rowX, rowY, r + 12, c);
    }
  }
  for (; r + 4 <= r1; r += 4) {
    for (let c = 0; c < c4; c += 4) block4(x, y, rowX, rowY, r, c);
  }
  const rEnd = r; // rows [r0, rEnd) done but for the last C − c4 columns
  for (let c = c4; c < C; c++) {
    for (let k = r0; k < rEnd; k++) store<f32>(y + <usize>c * rowY + (<usize>k << 2), load<f32>(x + <usize>k * rowX + (<usize>c << 2)));
  }
  for (; r < r1; r++) {
    for (let c = 0; c < C; c++) store<f32>(y + <usize>c * rowY + (<usize>r << 2), load<f32>(x + <usize>r * rowX + (<usize>c << 2)));
  }
}

/**
 * y[c] = f32(Σ_r x[r, c]) for the columns [c0, c1) of x (R, C), each sum accumulated in float64 in row order (the
 * same arithmetic as a float64 loop over r). acc: (c1 − c0) float64 of scratch, 16-byte aligned.
 */
export function sumColumns(x: usize, y: usize, acc: usize, R: i32, C: i32, c0: i32, c1: i32): void {
  const rowX = <usize>C << 2;
  const w = c1 - c0;
  memory.fill(acc, 0, <usize>w << 3);
  const w4 = w & ~3;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>r * rowX + (<usize>c0 << 2);
    for (let j = 0; j < w4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      const a = acc + (<usize>j << 3);
      v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
      v128.store(a + 16, f64x2.add(v128.load(a + 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
    }
    for (let j = w4; j < w; j++) {
      const a = acc + (<usize>j << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(xr + (<usize>j << 2)));
    }
  }
  for (let j = 0; j < w; j++) store<f32>(y + (<usize>(c0 + j) << 2), <f32>load<f64>(acc + (<usize>j << 3)));
}
