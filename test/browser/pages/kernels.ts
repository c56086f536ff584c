/**
 * Browser entry of the WGSL kernel checks: sets the tfjs 'webgpu' backend and runs the project's fused scan,
 * causal conv, SiLU-gradient, gate, RMS-normalization and Adam-step kernels on cases the jest side sends (test/browser/kernels.test.ts), returning
 * raw outputs; the float64 reference and the comparison live on the jest side.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { fusedSelectiveScan } from '../../../src/ops/scan/fusedSelectiveScan';
import { causalConv, causalConvGrad } from '../../../src/ops/conv/causalConv';
import { ADAM_STEP_KERNEL, RMS_NORMALIZE_GRAD_KERNEL, RMS_NORMALIZE_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../../../src/ops/kernels/names';
import { registerKernels } from '../../../src/ops/kernels/register';
import { WEBGPU_SCAN_CHUNK_FLAG, WEBGPU_SCAN_MODE_FLAG, WEBGPU_SCAN_UNROLL_FLAG, webgpuScanTuning } from '../../../src/flags';

registerKernels();

/** Sets the WGSL scan's tuning flags. */
function setTuning(t: { mode?: string; chunk?: number; unroll?: boolean }): void {
  if (t.mode !== undefined) tf.env().set(WEBGPU_SCAN_MODE_FLAG, t.mode);
  if (t.chunk !== undefined) tf.env().set(WEBGPU_SCAN_CHUNK_FLAG, t.chunk);
  if (t.unroll !== undefined) tf.env().set(WEBGPU_SCAN_UNROLL_FLAG, t.unroll);
}
import type { AdamCase, AdapterReport, ConvCase, GateCase, KernelCase, KernelResult, RmsCase, ScanCase, SiluCase } from './protocol';

interface GpuAdapterLike { info?: { vendor: string; architecture: string; description: string } }
interface GpuLike { requestAdapter(): Promise<GpuAdapterLike | null> }

/** Probes navigator.gpu, then makes 'webgpu' the tfjs backend. */
async function init(): Promise<AdapterReport> {
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
  const report: AdapterReport = { hasNavigatorGpu: gpu != null, adapter: null, backend: tf.getBackend() ?? 'none' };
  try {
    const a = gpu ? await gpu.requestAdapter() : null;
    if (a) report.adapter = { vendor: a.info?.vendor ?? '?', architecture: a.info?.architecture ?? '?', description: a.info?.description ?? '' };
    if (a && await tf.setBackend('webgpu')) await tf.ready();
    report.backend = tf.getBackend() ?? 'none';
  } catch (e) {
    report.error = (e as Error).message;
  }
  return report;
}

const t3 = (v: number[], s: number[]): tf.Tensor => tf.tensor(v, s, 'float32');

async function read(ts: Record<string, tf.Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(ts)) out[k] = Array.from(await t.data());
  tf.dispose(Object.values(ts));
  return out;
}

async function runScan(c: ScanCase): Promise<Record<string, number[]>> {
  const { B, L, ED, N } = c.dims;
  const saved = webgpuScanTuning();
  setTuning(c.tuning);
  const ins = [t3(c.x, [B, L, ED]), t3(c.delta, [B, L, ED]), t3(c.A, [ED, N]), t3(c.Bm, [B, L, N]), t3(c.Cm, [B, L, N]), t3(c.D, [ED])];
  const w = t3(c.w, [B, L, ED]); // (B, L, ED)
  try {
    const [x, delta, A, Bm, Cm, D] = ins;
    const y = fusedSelectiveScan(x, delta, A, Bm, Cm, D); // (B, L, ED)
    const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(fusedSelectiveScan(a[0], a[1], a[2], a[3], a[4], a[5]), w));
    const [dx, ddelta, dA, dB, dC, dD] = tf.grads(loss)(ins);
    return await read({ y, dx, ddelta, dA, dB, dC, dD });
  } finally {
    tf.dispose([...ins, w]);
    setTuning(saved);
  }
}

async function runConv(c: ConvCase): Promise<Record<string, number[]>> {
  const { B, L, ED, K } = c.dims;
  const x = t3(c.x, [B, L, ED]);
  const weight = t3(c.weight, [K, ED]);
  const bias = t3(c.bias, [ED]);
  const dy = t3(c.dy, [B, L, ED]);
  try {
    const y = causalConv(x, weight, bias); // (B, L, ED)
    const [dx, dweight, dbias] = causalConvGrad(x, weight, bias, dy); // (B, L, ED), (K, ED), (ED)
    return await read({ y, dx, dweight, dbias });
  } finally {
    tf.dispose([x, weight, bias, dy]);
  }
}

async function runSilu(c: SiluCase): Promise<Record<string, number[]>> {
  const x = t3(c.x, c.shape);
  const dy = t3(c.dy, c.shape);
  try {
    const dx = tf.engine().runKernel(SILU_GRAD_KERNEL, { x, dy }) as tf.Tensor;
    return await read({ dx });
  } finally {
    tf.dispose([x, dy]);
  }
}

async function runRms(c: RmsCase): Promise<Record<string, number[]>> {
  const x = t3(c.x, c.shape);
  const dy = t3(c.dy, c.shape);
  try {
    const y = tf.engine().runKernel(RMS_NORMALIZE_KERNEL, { x }, { eps: c.eps }) as tf.Tensor;
    const dx = tf.engine().runKernel(RMS_NORMALIZE_GRAD_KERNEL, { x, dy }, { eps: c.eps }) as tf.Tensor;
    return await read({ y, dx });
  } finally {
    tf.dispose([x, dy]);
  }
}

async function runGate(c: GateCase): Promise<Record<string, number[]>> {
  const x = t3(c.x, c.shape);
  const g = t3(c.g, c.shape);
  try {
    const kernel = { silu: SILU_KERNEL, siluMul: SILU_MUL_KERNEL, sigmoidMul: SIGMOID_MUL_KERNEL }[c.op];
    const y = tf.engine().runKernel(kernel, c.op === 'silu' ? { x } : { x, g }) as tf.Tensor;
    return await read({ y });
  } finally {
    tf.dispose([x, g]);
  }
}

async function runAdam(c: AdamCase): Promise<Record<string, number[]>> {
  const s = c.g.length;
  const [g, m, v, p] = [c.g, c.m, c.v, c.p].map((a) => tf.tensor1d(a, 'float32'));
  try {
    const out = tf.engine().runKernel(ADAM_STEP_KERNEL, { g, m, v, p }, c.attrs) as tf.Tensor;
    const all = Array.from(await out.data());
    out.dispose();
    return { m: all.slice(0, s), v: all.slice(s, 2 * s), p: all.slice(2 * s) };
  } finally {
    tf.dispose([g, m, v, p]);
  }
}

/**
 * Runs the cases (a JSON array of KernelCase) one by one on the active backend; returns a JSON array of
 * KernelResult. JSON strings, because Playwright serializes large number arrays value by value (slow).
 */
async function run(casesJson: string): Promise<string> {
  const cases = JSON.parse(casesJson) as KernelCase[];
  const results: KernelResult[] = [];
  for (const c of cases) {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const outputs = c.kind === 'scan' ? await runScan(c) : c.kind === 'conv' ? await runConv(c) : c.kind === 'rms' ? await runRms(c) : c.kind === 'gate' ? await runGate(c) : c.kind === 'adam' ? await runAdam(c) : await runSilu(c);
    results.push({ name: c.name, backend: tf.getBackend(), outputs, leaked: tf.memory().numTensors - before, ms: performance.now() - t0 });
  }
  return JSON.stringify(results);
}

Object.assign(globalThis, { kernelChecks: { init, run }, harnessReady: true });
