/**
 * Browser entry of the fused SSD (Mamba-2) WGSL kernel checks: sets the tfjs 'webgpu' backend and runs fusedSsd
 * forward and tf.grads on cases the jest side sends (test/browser/ssdKernels.test.ts), returning raw outputs; the
 * float64 reference and the comparison live on the jest side.
 *
 * Shapes: B batch, L length, H heads, P head dim, G groups, N state size.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { fusedSsd } from '../../../src/ops/ssd/fusedSsd';
import { registerKernels } from '../../../src/ops/kernels/register';

registerKernels();

/** One case as the jest side sends it. */
interface SsdPageCase {
  name: string;
  dims: { B: number; L: number; H: number; P: number; G: number; N: number };
  x: number[]; dt: number[]; A: number[]; Bm: number[]; Cm: number[]; D: number[]; h0: number[]; dy: number[]; dstate: number[];
}

async function init(): Promise<{ backend: string; error?: string }> {
  try {
    if (await tf.setBackend('webgpu')) await tf.ready();
    return { backend: tf.getBackend() ?? 'none' };
  } catch (e) {
    return { backend: tf.getBackend() ?? 'none', error: (e as Error).message };
  }
}

async function runCase(c: SsdPageCase): Promise<Record<string, number[]>> {
  const { B, L, H, P, G, N } = c.dims;
  const t = (v: number[], s: number[]) => tf.tensor(v, s, 'float32');
  const ins = [t(c.x, [B, L, H, P]), t(c.dt, [B, L, H]), t(c.A, [H]), t(c.Bm, [B, L, G, N]), t(c.Cm, [B, L, G, N]), t(c.D, [H]), t(c.h0, [B, H, P, N])];
  const w = t(c.dy, [B, L, H, P]);
  const ws = t(c.dstate, [B, H, P, N]);
  try {
    const run = (a: tf.Tensor[]) => fusedSsd({ x: a[0], dt: a[1], a: a[2], bm: a[3], cm: a[4], d: a[5] }, a[6]);
    const { y, state } = run(ins);
    const grads = tf.grads((...a: tf.Tensor[]) => {
      const o = run(a);
      return tf.add(tf.sum(tf.mul(o.y, w)), tf.sum(tf.mul(o.state, ws)));
    })(ins);
    const named: Record<string, tf.Tensor> = { y, state };
    ['dx', 'ddt', 'dA', 'dB', 'dC', 'dD', 'dh0'].forEach((k, i) => (named[k] = grads[i]));
    const out: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(named)) out[k] = Array.from(await v.data());
    tf.dispose(Object.values(named));
    return out;
  } finally {
    tf.dispose([...ins, w, ws]);
  }
}

/** Runs the cases (JSON) one by one; returns JSON [{name, backend, outputs, leaked, ms}]. */
async function run(casesJson: string): Promise<string> {
  const results = [];
  for (const c of JSON.parse(casesJson) as SsdPageCase[]) {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const outputs = await runCase(c);
    results.push({ name: c.name, backend: tf.getBackend(), outputs, leaked: tf.memory().numTensors - before, ms: performance.now() - t0 });
  }
  return JSON.stringify(results);
}

Object.assign(globalThis, { ssdChecks: { init, run }, harnessReady: true });
