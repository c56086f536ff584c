/**
 * The webgpu bind-group cache (src/ops/kernels/webgpu/bindGroupCache.ts) on a stand-in GPUDevice that counts what it
 * creates: reuse for the same layout and buffer ranges, a new group for any other buffer, offset or size, textures
 * bypassing, pipelines keeping their layouts, the flag's size and 0 (off). The real device is exercised on the GPU
 * machine (benchmarks/webgpuBlockCheck.js, trained with the cache on).
 */
import * as tf from '@tensorflow/tfjs';
import { bindGroupCacheStats, installBindGroupCache } from '../../src/ops/kernels/webgpu/bindGroupCache';

const FLAG = 'MAMBA_TFJS_WEBGPU_BIND_GROUPS';

/** A stand-in for tfjs-webgpu's backend: a device whose bind groups and layouts are fresh objects, as Dawn's are. */
function fakeBackend() {
  const made = { groups: 0, layouts: 0 };
  const pipeline = () => ({ getBindGroupLayout: (i: number) => ({ layout: i, n: ++made.layouts }) });
  const device = {
    createBindGroup: (d: { entries: unknown[] }) => ({ group: ++made.groups, entries: d.entries.length }),
    createComputePipeline: () => pipeline(),
    createComputePipelineAsync: async () => pipeline(),
  };
  const early = pipeline();
  return { made, backend: { device, pipelineCache: { early } as Record<string, unknown> }, early };
}

type Fake = ReturnType<typeof fakeBackend>;
const dev = (f: Fake) => f.backend.device as unknown as {
  createBindGroup(d: unknown): object;
  createComputePipeline(d: unknown): { getBindGroupLayout(i: number): object };
  createComputePipelineAsync(d: unknown): Promise<{ getBindGroupLayout(i: number): object }>;
};
const buffers = (n: number) => Array.from({ length: n }, (_, i) => ({ buffer: { gpuBuffer: i } }));
const entries = (res: object[]) => res.map((resource, binding) => ({ binding, resource }));

afterEach(() => tf.env().set(FLAG, 4096));

test('the same layout and buffer ranges get the same bind group; any other buffer, offset or size a new one', () => {
  const f = fakeBackend();
  installBindGroupCache(f.backend);
  const d = dev(f);
  const p = d.createComputePipeline({});
  const layout = p.getBindGroupLayout(0);
  expect(p.getBindGroupLayout(0)).toBe(layout); // the pipeline keeps its layout
  expect(f.made.layouts).toBe(1);
  const [a, b, u] = buffers(3);
  const before = { ...bindGroupCacheStats };
  const g1 = d.createBindGroup({ layout, entries: entries([{ ...a, offset: 0, size: 64 }, { ...u, offset: 0, size: 16 }]) });
  const g2 = d.createBindGroup({ layout, entries: entries([{ ...a, offset: 0, size: 64 }, { ...u, offset: 0, size: 16 }]) });
  expect(g2).toBe(g1);
  expect(d.createBindGroup({ layout, entries: entries([{ ...b, offset: 0, size: 64 }, { ...u, offset: 0, size: 16 }]) })).not.toBe(g1);
  expect(d.createBindGroup({ layout, entries: entries([{ ...a, offset: 4, size: 60 }, { ...u, offset: 0, size: 16 }]) })).not.toBe(g1);
  expect(d.createBindGroup({ layout, entries: entries([{ ...a, offset: 0, size: 32 }, { ...u, offset: 0, size: 16 }]) })).not.toBe(g1);
  const other = d.createComputePipeline({}).getBindGroupLayout(0);
  expect(d.createBindGroup({ layout: other, entries: entries([{ ...a, offset: 0, size: 64 }, { ...u, offset: 0, size: 16 }]) })).not.toBe(g1);
  expect(f.made.groups).toBe(5);
  expect(bindGroupCacheStats.hits - before.hits).toBe(1);
  expect(bindGroupCacheStats.misses - before.misses).toBe(5);
});

test('textures bypass the cache; pipelines compiled before or asynchronously keep their layouts too', async () => {
  const f = fakeBackend();
  installBindGroupCache(f.backend);
  installBindGroupCache(f.backend); // idempotent
  const d = dev(f);
  expect(f.early.getBindGroupLayout(0)).toBe(f.early.getBindGroupLayout(0));
  const q = await d.createComputePipelineAsync({});
  const layout = q.getBindGroupLayout(0);
  expect(q.getBindGroupLayout(0)).toBe(layout);
  const texture = { texture: 1 };
  const g1 = d.createBindGroup({ layout, entries: entries([texture]) });
  expect(d.createBindGroup({ layout, entries: entries([texture]) })).not.toBe(g1);
  expect(f.made.groups).toBe(2);
});

test('the flag sets the size (the cache starts over when full) and 0 turns it off', () => {
  const f = fakeBackend();
  installBindGroupCache(f.backend);
  const d = dev(f);
  const layout = d.createComputePipeline({}).getBindGroupLayout(0);
  const group = (buf: object) => d.createBindGroup({ layout, entries: entries([buf]) });
  const [a, b, c] = buffers(3);
  tf.env().set(FLAG, 2);
  const ga = group(a);
  group(b);
  expect(group(a)).toBe(ga); // two fit
  group(c); // the third clears the cache first
  expect(group(a)).not.toBe(ga);
  tf.env().set(FLAG, 0);
  const made = f.made.groups;
  expect(group(c)).not.toBe(group(c));
  expect(f.made.groups).toBe(made + 2);
  expect(() => tf.env().set(FLAG, -1)).toThrow(/MAMBA_TFJS_WEBGPU_BIND_GROUPS: expected an integer >= 0, got -1/);
});

test('not installed on a backend without a GPUDevice, nor when the flag is 0', () => {
  const cpu = { pipelineCache: {} };
  expect(() => installBindGroupCache(cpu)).not.toThrow();
  tf.env().set(FLAG, 0);
  const f = fakeBackend();
  const original = f.backend.device.createBindGroup;
  installBindGroupCache(f.backend);
  expect(f.backend.device.createBindGroup).toBe(original);
});
