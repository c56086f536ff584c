/**
 * The project's WGSL kernels, checked numerically in real headless Chromium on WebGPU (SwiftShader):
 * forward and backward of the fused selective scan (both webgpu modes), the causal conv, the SiLU
 * gradient, the gates (silu, g·silu, g·σ), RMS normalization and FlatAdam's step (forward and gradient), against the float64 references of ./reference.ts. No WebGPU adapter = a failing test that says so.
 */
import { openHarnessPage, PageSession } from './harness/session';
import { allCases } from './kernelCases';
import type { AdapterReport, KernelCase, KernelResult } from './pages/protocol';
import { adamReference, convReference, gateReference, relError, rmsReference, scanReference, siluGradReference } from './reference';

/** Relative error bounds, max|gpu − ref| / max|ref| per output (float32 on the GPU vs float64). */
const TOL: Record<KernelCase['kind'], number> = { scan: 1e-5, conv: 1e-6, silu: 1e-6, rms: 1e-6, gate: 1e-6, adam: 1e-6 };

type Page = { kernelChecks: { init(): Promise<AdapterReport>; run(casesJson: string): Promise<string> } };

/** The reference outputs of a case, by the names the page returns. */
function referenceOf(c: KernelCase): Record<string, Float64Array> {
  if (c.kind === 'scan') return { ...scanReference(c.dims, c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.w) };
  if (c.kind === 'conv') return { ...convReference(c.dims, c.x, c.weight, c.bias, c.dy) };
  if (c.kind === 'adam') return { ...adamReference(c.attrs, c.g, c.m, c.v, c.p) };
  if (c.kind === 'gate') return { y: gateReference(c.op, c.x, c.g) };
  if (c.kind === 'rms') return { ...rmsReference(c.x, c.dy, c.shape[c.shape.length - 1], c.eps) };
  return { dx: siluGradReference(c.x, c.dy) };
}

describe('WGSL kernels in headless Chromium (webgpu on SwiftShader)', () => {
  let s: PageSession;
  let adapter: AdapterReport;
  const cases = allCases();
  const t0 = Date.now();

  beforeAll(async () => {
    s = await openHarnessPage('kernels');
    adapter = await s.page.evaluate(() => (globalThis as unknown as Page).kernelChecks.init());
  }, 90000);

  afterAll(async () => {
    await s?.close();
    console.log(`kernels.test: ${((Date.now() - t0) / 1000).toFixed(1)} s in all (bundle ${s?.timings.bundle} ms, browser open ${s?.timings.open} ms)`);
  });

  test('a WebGPU adapter exists and tfjs runs on webgpu', () => {
    if (!adapter.adapter || adapter.backend !== 'webgpu') {
      throw new Error(`kernels.test.ts: expected a WebGPU adapter and the tfjs 'webgpu' backend, got ${JSON.stringify(adapter)}; the WGSL kernels were NOT checked. Console:\n${s.console.join('\n')}`);
    }
    expect(adapter.adapter.architecture).toBe('swiftshader');
  });

  test('scan, conv, silu-gradient, gate, RMS-normalization and Adam-step kernels match the float64 reference', async () => {
    if (adapter.backend !== 'webgpu') throw new Error('kernels.test.ts: no webgpu backend (see the test above); the WGSL kernels were NOT checked');
    const tRun = Date.now();
    const json = await s.page.evaluate((cs) => (globalThis as unknown as Page).kernelChecks.run(cs), JSON.stringify(cases));
    const results = JSON.parse(json) as KernelResult[];
    const runMs = Date.now() - tRun;
    const tRef = Date.now();
    const worst: Record<string, { err: number; where: string }> = {};
    const failures: string[] = [];
    results.forEach((res, i) => {
      const c = cases[i];
      expect(res.name).toBe(c.name);
      expect(res.backend).toBe('webgpu');
      expect(res.leaked).toBe(0);
      const ref = referenceOf(c);
      expect(Object.keys(res.outputs).sort()).toEqual(Object.keys(ref).sort());
      for (const [out, want] of Object.entries(ref)) {
        const err = relError(res.outputs[out], want);
        const key = `${c.kind}.${out}`;
        if (!worst[key] || !(err <= worst[key].err)) worst[key] = { err, where: c.name };
        if (!(err <= TOL[c.kind])) failures.push(`${c.name}: ${out} relative error ${err.toExponential(2)} > ${TOL[c.kind]}`);
      }
    });
    const refMs = Date.now() - tRef;
    const ms = results.map((r) => `${r.name}: ${r.ms.toFixed(0)} ms`).join('\n');
    console.log(`page run ${runMs} ms, references + comparison ${refMs} ms; worst relative errors (${results.length} cases):\n${Object.entries(worst).map(([k, v]) => `${k} ${v.err.toExponential(2)} (${v.where})`).join('\n')}\n${ms}`);
    if (failures.length > 0) throw new Error(`kernels.test.ts: ${failures.length} outputs off the float64 reference:\n${failures.join('\n')}`);
  }, 150000); // ~20-35 s on 2 loaded cores
});
