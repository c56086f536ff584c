/**
 * The layout plan of the fused decoder's column matvecs (src/ops/kernels/webgpu/colMatvec.ts): for the released
 * Mamba sizes and odd ones, every output column is owned by exactly one workgroup column, a workgroup stays within
 * 256 invocations, the input slices are a power of two with ≥ 8 rows each (unless there is a single slice), and the
 * big matvecs spread over ≥ 256 workgroups. The WGSL itself runs in test/browser/decode.test.ts.
 */
import { MAX_GROUPS_X, colMatvecShader, colPlan } from '../../src/ops/kernels/webgpu/colMatvec';

// [I, O]: mamba-130m's and mamba-2.8b's in_proj, x_proj, out_proj; a tiny model's; an O off multiples of 4.
const SHAPES: [number, number][] = [[768, 3072], [1536, 80], [1536, 768], [2560, 10240], [5120, 192], [5120, 2560], [16, 64], [48, 34], [7, 9]];

test.each(SHAPES)('I %i, O %i: the plan covers every output once and fits a workgroup', (I, O) => {
  const p = colPlan(I, O);
  expect(p.vw).toBe(O % 4 === 0 ? 4 : 1);
  expect(p.c * p.s).toBeLessThanOrEqual(256);
  expect(Math.log2(p.s) % 1).toBe(0);
  if (p.s > 1) expect(I / p.s).toBeGreaterThanOrEqual(8);
  const groups = p.groups[0] * p.groups[1];
  expect(p.groups[0]).toBeLessThanOrEqual(MAX_GROUPS_X);
  expect(groups * p.c * p.vw).toBeGreaterThanOrEqual(O); // every output has a column
  expect((groups - 1) * p.c * p.vw).toBeLessThan(O); // no workgroup without one
  if (O / p.vw >= 256) expect(groups).toBeGreaterThanOrEqual(256);
});

test('the WGSL names the plan it was made for', () => {
  const code = colMatvecShader({ B: 2, I: 2560, O: 10240, decls: '', load: (b, k) => `x[${b} * IX + ${k}]`, store: 'out[b * O + o] = v;' });
  expect(code).toContain('alias VT = vec4<f32>;');
  expect(code).toContain('alias XT = vec4<f32>;');
  expect(code).toContain('const C : u32 = 8u;');
  expect(code).toContain('const S : u32 = 32u;');
  expect(code).toContain('@workgroup_size(256)');
});
