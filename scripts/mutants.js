/**
 * The mutants of `npm run mutate` (scripts/mutate.js): each is one exact edit that a test must notice.
 *
 *   id       short name
 *   file     path from the repository root
 *   find     exact snippet; must occur exactly once in `file` (mutate.js stops otherwise: when src/ files move,
 *            fix the path here — a mutant never silently skips)
 *   replace  what the snippet becomes
 *   tests    jest files that should kill it (kept few: each mutant runs them alone)
 *   filter   optional jest -t pattern, to run only the tests that matter in a long file
 *   build    optional 'wasm' | 'full'; default: 'wasm' for files under asm/, none otherwise (ts-jest reads src/)
 *   note     what the bug models, and for an expected survivor why it survives
 */
const STOCK_REF = 'stock-op reference'; // fusedBlock.test.ts: the fused block and the layers vs test/helpers/referenceBlock.ts

module.exports = [
  {
    id: 'norm-eps-dropped-block',
    file: 'src/layers/residualBlock.ts',
    find: 'eps: this.mixer.config.normEps, ',
    replace: '',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: "the blocks' RMSNorm falls back to eps 1e-5 whatever the config says (killed by the eps 1e-3 case)",
  },
  {
    id: 'norm-eps-dropped-final',
    file: 'src/layers/mambaLM.ts',
    find: 'eps: this.backbone.config.normEps, ',
    replace: '',
    tests: ['test/io/checkpoint.test.ts'],
    filter: 'pscan mode', // every fixture (a new one too), one scan mode
    note: "norm_f falls back to eps 1e-5. Every fixture so far has layer_norm_epsilon 1e-5, so this survives until a " +
      'fixture with another eps (tiny-hf-eps, in progress) is in checkpoint.test.ts',
  },
  {
    id: 'val-from-train',
    file: 'src/tasks/textData.ts',
    find: "opts.split === 'val' ? this.val : this.train",
    replace: "opts.split === 'val' ? this.train : this.train",
    tests: ['test/tasks/textData.test.ts'],
    note: 'validation windows drawn from the training split',
  },
  {
    id: 'pscan-grad-sign',
    file: 'src/ops/scan/pscan.ts',
    find: "const dA = tf.mul(R, shiftByOne(h, 'right'));",
    replace: "const dA = tf.neg(tf.mul(R, shiftByOne(h, 'right')));",
    tests: ['test/robustness/chunkedScan.test.ts'],
    note: "pscan's hand-written backward: dA with the wrong sign (chunked and unchunked pscan share it)",
  },
  {
    id: 'conv-taps-reversed-js',
    file: 'src/ops/kernels/js/convMath.ts',
    find: 'for (let e = 0; e < ED; e++) y[yo + e] += w[wo + e] * x[xo + e];',
    replace: 'for (let e = 0; e < ED; e++) y[yo + e] += w[(K - 1 - k) * ED + e] * x[xo + e];',
    tests: ['test/ops/fusedConv.test.ts'],
    note: 'JS conv loop (the fallback) applies the taps in reverse order',
  },
  {
    id: 'conv-taps-reversed-simd',
    file: 'asm/conv.ts',
    find: 'fma(yo, w + <usize>k * row, x + <usize>(b * L + t - (K - 1) + k) * row, row);',
    replace: 'fma(yo, w + <usize>(K - 1 - k) * row, x + <usize>(b * L + t - (K - 1) + k) * row, row);',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: 'SIMD conv applies the taps in reverse order (the fused block and the layers share this kernel)',
  },
  {
    id: 'scan-sign-js-forward',
    file: 'src/ops/kernels/js/scanMath.ts',
    find: 'const hn = Math.exp(dt * A[off + n]) * h[off + n] + dtx * Bm[rowN + n];',
    replace: 'const hn = Math.exp(dt * A[off + n]) * h[off + n] - dtx * Bm[rowN + n];',
    tests: ['test/ops/fusedSelectiveScan.test.ts'],
    note: 'JS fused scan forward: input term subtracted',
  },
  {
    id: 'scan-sign-js-backward',
    file: 'src/ops/kernels/js/scanMath.ts',
    find: 'ddelta[i] = xv * sumGB + sumGAah;',
    replace: 'ddelta[i] = xv * sumGB - sumGAah;',
    tests: ['test/ops/fusedSelectiveScan.test.ts'],
    note: 'JS fused scan backward: the decay term of dΔ with the wrong sign',
  },
  {
    id: 'scan-sign-simd-forward',
    file: 'asm/scan.ts',
    find: 'const hn = f32x4.add(f32x4.mul(a, v128.load(he + k)), f32x4.mul(dtx, v128.load(Bt + k)));',
    replace: 'const hn = f32x4.sub(f32x4.mul(a, v128.load(he + k)), f32x4.mul(dtx, v128.load(Bt + k)));',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: 'SIMD fused scan forward: input term subtracted',
  },
  {
    id: 'scan-sign-simd-backward',
    file: 'asm/scan.ts',
    find: 'store<f32>(ddelta + i, <f32>(<f64>xv * gb + hsum(sumGAah)));',
    replace: 'store<f32>(ddelta + i, <f32>(<f64>xv * gb - hsum(sumGAah)));',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: 'SIMD fused scan backward: the decay term of dΔ with the wrong sign',
  },
  {
    id: 'softplus-grad-block',
    file: 'src/ops/block/fusedBlock.ts',
    find: 'const ddraw = tf.mul(tf.reshape(ddelta, [bl, ed]), tf.sigmoid(p.draw));',
    replace: 'const ddraw = tf.mul(tf.reshape(ddelta, [bl, ed]), tf.sigmoid(tf.neg(p.draw)));',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: "fused block backward: softplus' derivative taken as sigmoid(−x)",
  },
  {
    id: 'softplus-grad-kernel',
    file: 'src/ops/kernels/softplus.ts',
    find: 'gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),',
    replace: 'gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(tf.neg(x))) }),',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: "softplus kernel's registered gradient taken as sigmoid(−x) (used by the layer-by-layer ops)",
  },
  {
    id: 'delta-scaled-block',
    file: 'src/ops/block/fusedBlock.ts',
    find: 'const delta = tf.reshape(softplus(draw), [b, l, ed]); // (B, L, ED)',
    replace: 'const delta = tf.mul(tf.reshape(softplus(draw), [b, l, ed]), 1.01); // (B, L, ED)',
    tests: ['test/ops/fusedBlock.test.ts'],
    filter: STOCK_REF,
    note: 'fused block: Δ 1 % too large',
  },
  {
    id: 'delta-scaled-layers',
    file: 'src/layers/mambaBlock.ts',
    find: 'const delta = softplus(linear(dt, this.w.dtProj.read(), this.w.dtProjBias.read())); // (B, L, ED)',
    replace: 'const delta = tf.mul(softplus(linear(dt, this.w.dtProj.read(), this.w.dtProjBias.read())), 1.01); // (B, L, ED)',
    tests: ['test/io/checkpoint.test.ts'],
    filter: 'tiny-hf\\) equals the reference',
    note: 'layer-by-layer MambaBlock (pscan, sequential, decoding): Δ 1 % too large',
  },
  {
    id: 'sampler-drops-rare-ids',
    file: 'src/generation/sampling.ts',
    find: 'if (scaled[i] >= floor) {',
    replace: 'if (scaled[i] >= floor && scaled[i] - max > -6) {',
    tests: ['test/generation/sampling.test.ts'],
    note: 'the sampler never draws ids below e^−6 of the most likely one',
  },
];
