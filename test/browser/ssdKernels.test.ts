/**
 * The fused SSD (Mamba-2) WGSL kernels (src/ops/kernels/webgpu/ssd.ts) in headless Chromium on WebGPU (SwiftShader):
 * y, final state and the seven gradients against the float64 reference of test/helpers/ssdCase.ts, on shapes with
 * groups, N off multiples of 4, L across several checkpoint chunks, decays that underflow, and h0.
 * Measured (2 shared cores, 2026-12-03): 15 s wall; worst relative error 1.2e-6 (dA, underflow case), else ≤ 7.6e-7.
 */
import { openHarnessPage, PageSession } from './harness/session';
import { relError } from './reference';
import { ssdCase, ssdReference } from '../helpers/ssdCase';
import type { SsdDims } from '../../src/ops/kernels/js/ssdMath';

type Page = { ssdChecks: { init(): Promise<{ backend: string; error?: string }>; run(casesJson: string): Promise<string> } };

/** [name, dims, kind]: L 1, L 37 (chunks of 7), G 1 and G = H, N 5 to 128, P 3 to 64 (the released models' P and N). */
const CASES: [string, SsdDims, 'realistic' | 'underflow'][] = [
  ['B2 L1 H4 P3 G2 N5', { B: 2, L: 1, H: 4, P: 3, G: 2, N: 5 }, 'realistic'],
  ['B2 L37 H4 P3 G2 N5', { B: 2, L: 37, H: 4, P: 3, G: 2, N: 5 }, 'realistic'],
  ['B1 L50 H2 P16 G1 N16', { B: 1, L: 50, H: 2, P: 16, G: 1, N: 16 }, 'realistic'],
  ['B2 L23 H2 P4 G2 N8 underflow', { B: 2, L: 23, H: 2, P: 4, G: 2, N: 8 }, 'underflow'],
  ['B1 L9 H2 P64 G1 N128 (mamba2 sizes)', { B: 1, L: 9, H: 2, P: 64, G: 1, N: 128 }, 'realistic'],
];
const TOL = 2e-5;

describe('fused SSD WGSL kernels in headless Chromium (webgpu on SwiftShader)', () => {
  let s: PageSession;
  let backend = 'none';

  beforeAll(async () => {
    s = await openHarnessPage('ssd');
    const r = await s.page.evaluate(() => (globalThis as unknown as Page).ssdChecks.init());
    backend = r.backend;
    if (backend !== 'webgpu') throw new Error(`ssdKernels.test.ts: no webgpu backend (${JSON.stringify(r)}). Console:\n${s.console.join('\n')}`);
  }, 90000);

  afterAll(async () => {
    await s?.close();
  });

  test('y, state and all seven gradients match the float64 reference', async () => {
    expect(backend).toBe('webgpu');
    const cases = CASES.map(([name, dims, kind], k) => ({ name, ...ssdCase(dims, 200 + k, kind) }));
    const json = JSON.stringify(cases.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v instanceof Float32Array ? Array.from(v) : v]))));
    const results = JSON.parse(await s.page.evaluate((cs) => (globalThis as unknown as Page).ssdChecks.run(cs), json)) as
      { name: string; backend: string; outputs: Record<string, number[]>; leaked: number; ms: number }[];
    const failures: string[] = [];
    const worst: Record<string, number> = {};
    results.forEach((res, i) => {
      expect(res.backend).toBe('webgpu');
      expect(res.leaked).toBe(0);
      const ref = ssdReference(cases[i]);
      const want: Record<string, Float64Array> = { y: ref.y, state: ref.state, ...ref.grads };
      expect(Object.keys(res.outputs).sort()).toEqual(Object.keys(want).sort());
      for (const [k, v] of Object.entries(want)) {
        const err = relError(res.outputs[k], v);
        worst[k] = Math.max(worst[k] ?? 0, err);
        if (!(err <= TOL)) failures.push(`${res.name}: ${k} relative error ${err.toExponential(2)} > ${TOL}`);
      }
    });
    console.log(`fused SSD on webgpu: ${results.map((r) => `${r.name} ${r.ms.toFixed(0)} ms`).join(', ')}; worst relative errors: ${Object.entries(worst).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
    if (failures.length > 0) throw new Error(`ssdKernels.test.ts: ${failures.length} outputs off the float64 reference:\n${failures.join('\n')}\nConsole:\n${s.console.join('\n').slice(0, 4000)}`);
  }, 150000);
});
