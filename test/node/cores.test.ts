/**
 * src/node/cores.ts: the free-core count behind MAMBA_TFJS_WASM_THREADS=auto.
 */
import { Worker } from 'worker_threads';
import { allowedCpus, availableCores, coresFree, cpuTimes, freeCores } from '../../src/node/cores';

test('coresFree: the idle share of the CPUs between two readings, rounded, within [1, available]', () => {
  const a = { idle: 1000, total: 4000 };
  expect(coresFree(a, { idle: 1400, total: 4400 }, 4, 4)).toBe(4); // all idle
  expect(coresFree(a, { idle: 1300, total: 4400 }, 4, 4)).toBe(3); // one of four busy
  expect(coresFree(a, { idle: 1100, total: 4200 }, 2, 2)).toBe(1); // one of two busy
  expect(coresFree(a, { idle: 1000, total: 4400 }, 4, 4)).toBe(1); // all busy: still one
  expect(coresFree(a, { idle: 1400, total: 4400 }, 16, 2)).toBe(2); // 16 idle CPUs, 2 allowed
  expect(coresFree(a, a, 8, 3)).toBe(3); // no time passed
});

test('cpuTimes grows, and freeCores sees a core kept busy by a worker thread', async () => {
  const a = cpuTimes();
  const t0 = Date.now();
  while (Date.now() - t0 < 20);
  const b = cpuTimes();
  expect(b.total).toBeGreaterThan(a.total);
  expect(b.idle).toBeGreaterThanOrEqual(a.idle);
  const idle = await freeCores(50);
  expect(Number.isInteger(idle)).toBe(true);
  expect(idle).toBeGreaterThanOrEqual(1);
  expect(idle).toBeLessThanOrEqual(availableCores());
  // Every core busy with a spinning worker: at most one free core is seen (the sampler sleeps meanwhile).
  const sab = new Int32Array(new SharedArrayBuffer(4));
  const spin = `const { workerData } = require('worker_threads'); const s = new Int32Array(workerData); while (Atomics.load(s, 0) === 0);`;
  const workers = Array.from({ length: availableCores() }, () => new Worker(spin, { eval: true, workerData: sab.buffer }));
  try {
    await new Promise((r) => setTimeout(r, 100));
    expect(await freeCores(200)).toBeLessThanOrEqual(Math.max(1, Math.ceil(availableCores() / 2)));
  } finally {
    Atomics.store(sab, 0, 1);
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

test('allowedCpus reads Linux Cpus_allowed_list ranges, and null without one', () => {
  expect(allowedCpus('Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4,6-7\nMems_allowed:\t1\n')).toEqual([0, 1, 4, 6, 7]);
  expect(allowedCpus('Name:\tnode\n')).toBeNull();
  const own = allowedCpus();
  if (own != null) expect(own.length).toBeGreaterThanOrEqual(availableCores());
});
