/**
 * The products of the train step (b) at B·L = 1024 and 4096 rows, and a (B·L, 128) transpose, on wasm: median ms of 21
 * calls (with reading the result back). Run with MAMBA_TFJS_WASM_THREADS=1 and =2 to compare tfjs's threaded build.
 * Usage: npm run build && node benchmarks/matmulShapes.js
 */
const { tf, mamba } = require('./lib');
(async () => {
  await mamba.selectBackend('wasm');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const out = [];
  for (const T of [1024, 4096]) {
    const cases = [['x(T,64)W(64,256)', [T, 64], [64, 256]], ['g(T,128)W(128,64)', [T, 128], [128, 64]], ['xT(64,T)dy(T,256)', [64, T], [T, 256]], ['gT(128,T)dy(T,64)', [128, T], [T, 64]], ['x(T,128)W(128,36)', [T, 128], [128, 36]]];
    for (const [name, sa, sb] of cases) {
      const a = tf.randomNormal(sa), b = tf.randomNormal(sb);
      const f = () => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); };
      for (let i = 0; i < 5; i++) f();
      const ts = [];
      for (let i = 0; i < 21; i++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); }
      ts.sort((p, q) => p - q);
      out.push(`${name}@${T}:${ts[10].toFixed(2)}`);
      a.dispose(); b.dispose();
    }
    const t = tf.randomNormal([T, 128]);
    const g = () => { const c = tf.transpose(t); c.dataSync(); c.dispose(); };
    for (let i = 0; i < 5; i++) g();
    const ts = []; for (let i = 0; i < 21; i++) { const t0 = performance.now(); g(); ts.push(performance.now() - t0); }
    ts.sort((p, q) => p - q); out.push(`transpose(${T},128):${ts[10].toFixed(2)}`);
  }
  console.log(`tfjs threads ${wasm.getThreadsCount()}: ${out.join(' ')}`);
  process.exit(0);
})();
