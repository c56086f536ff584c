/**
 * One core's streaming read bandwidth, the denominator of every decode figure's bandwidth limit (bytes read per
 * token / GB/s): the best of 5 SIMD reads of a fresh WebAssembly memory. Used by decode.js and decodeStep.js.
 */
const { int8Wasm } = require('../dist/ops/kernels/simd/int8.js');

/** Best of 5 streaming reads of `mib` MiB, in GB/s. */
function readBandwidthGBps(mib = 512) {
  const bytes = mib * 2 ** 20;
  const memory = new WebAssembly.Memory({ initial: bytes / 65536 + 1 });
  new Uint8Array(memory.buffer).fill(1);
  const probe = int8Wasm(memory);
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    probe.int8StreamRead(0, bytes);
    best = Math.max(best, bytes / ((performance.now() - t0) / 1000) / 1e9);
  }
  return best;
}

module.exports = { readBandwidthGBps };
