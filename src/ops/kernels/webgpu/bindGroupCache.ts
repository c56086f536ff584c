/**
 * A cache of the bind groups tfjs-backend-webgpu creates for its dispatches, installed on the backend's GPUDevice.
 *
 * Why: tfjs-webgpu records every program with a fresh bind group (`device.createBindGroup`) over a layout it asks the
 * pipeline for each time (`pipeline.getBindGroupLayout(0)`). On the H200 in Node (the `webgpu` package, Dawn) those
 * two calls took 25 µs and 4 µs of the ~70 µs of host time a dispatch costs (a train step of mamba.py's speed-chart
 * model dispatches 113 programs; measured 2026-12-03 by timing each Dawn call inside the step). A train step
 * allocates its tensors in the same order every time and tfjs-webgpu's buffer pool hands back the same GPU buffers, so
 * the same (layout, buffers) pairs recur each step: here each pipeline keeps its layouts, and a bind group is made once
 * per layout and bound buffer ranges, then reused.
 *
 * Safe because a bind group only names buffers and ranges, not their contents: tfjs writes each dispatch's uniforms
 * into the uniform buffer it binds before the dispatch, as before. A key holds the identity of every bound buffer, so
 * a buffer that was destroyed is never matched by a new one. Entries whose resource is not a buffer range (textures,
 * samplers: tfjs's fromPixels) bypass the cache. The cache is cleared when it reaches its size (the flag
 * MAMBA_TFJS_WEBGPU_BIND_GROUPS, default 4096; 0 turns it off, for new pipelines and bind groups).
 *
 * Porting note: no counterpart in mamba.py (a CUDA launch takes its arguments directly); this works around host
 * costs of tfjs-backend-webgpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { webgpuBindGroupCacheSize } from '../../../flags';

/** The parts of WebGPU's types used here (no WebGPU typings are imported). */
interface LayoutSource {
  getBindGroupLayout(index: number): object;
}
interface BindGroupDescriptorLike {
  layout: object;
  entries: { binding: number; resource: { buffer?: object; offset?: number; size?: number } }[];
  label?: string;
}
interface DeviceLike {
  createBindGroup(descriptor: BindGroupDescriptorLike): object;
  createComputePipeline(descriptor: unknown): LayoutSource;
  createComputePipelineAsync?(descriptor: unknown): Promise<LayoutSource>;
}

/** What the cache did since the process started (the benchmarks report it). */
export interface BindGroupCacheStats {
  /** Bind groups reused. */
  hits: number;
  /** Bind groups created and kept. */
  misses: number;
  /** Bind groups created past the cache (a resource not a buffer range, or the flag at 0). */
  bypassed: number;
}

/** Counts since the process started. */
export const bindGroupCacheStats: BindGroupCacheStats = { hits: 0, misses: 0, bypassed: 0 };

const ids = new WeakMap<object, number>();
let nextId = 1;
/** A number per object, for keys. */
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

const patched = new WeakSet<object>();

/** Makes `pipeline.getBindGroupLayout(i)` return the same layout object each time. */
function keepLayouts<P extends LayoutSource>(pipeline: P): P {
  if (pipeline == null || typeof pipeline.getBindGroupLayout !== 'function' || patched.has(pipeline)) return pipeline;
  const original = pipeline.getBindGroupLayout;
  const layouts: object[] = [];
  pipeline.getBindGroupLayout = (index: number) => layouts[index] ?? (layouts[index] = original.call(pipeline, index));
  patched.add(pipeline);
  return pipeline;
}

/** The key of a descriptor whose resources are all buffer ranges, else null. */
function keyOf(d: BindGroupDescriptorLike): string | null {
  let key = String(idOf(d.layout));
  for (const e of d.entries) {
    const r = e.resource;
    if (r == null || r.buffer == null) return null;
    key += `|${e.binding}:${idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
  }
  return key;
}

/**
 * Installs the cache on the active backend when it is tfjs-backend-webgpu (anything with a GPUDevice at `.device`
 * and a `pipelineCache`); a no-op elsewhere, when installed already, or when the flag's size is 0.
 */
export function installBindGroupCache(backend: object = tf.backend()): void {
  const be = backend as unknown as { device?: DeviceLike; pipelineCache?: Record<string, unknown> };
  const device = be.device;
  if (device == null || be.pipelineCache == null || typeof device.createBindGroup !== 'function') return;
  if (patched.has(device) || webgpuBindGroupCacheSize() === 0) return;
  patched.add(device);
  const createBindGroup = device.createBindGroup;
  const createPipeline = device.createComputePipeline;
  const createPipelineAsync = device.createComputePipelineAsync;
  const cache = new Map<string, object>();
  device.createBindGroup = (descriptor: BindGroupDescriptorLike) => {
    const size = webgpuBindGroupCacheSize();
    const key = size > 0 ? keyOf(descriptor) : null;
    if (key == null) {
      bindGroupCacheStats.bypassed++;
      return createBindGroup.call(device, descriptor);
    }
    let group = cache.get(key);
    if (group !== undefined) {
      bindGroupCacheStats.hits++;
      return group;
    }
    bindGroupCacheStats.misses++;
    if (cache.size >= size) cache.clear();
    group = createBindGroup.call(device, descriptor);
    cache.set(key, group);
    return group;
  };
  device.createComputePipeline = (descriptor: unknown) => keepLayouts(createPipeline.call(device, descriptor));
  if (typeof createPipelineAsync === 'function') {
    device.createComputePipelineAsync = (descriptor: unknown) => createPipelineAsync.call(device, descriptor).then(keepLayouts);
  }
  // Pipelines compiled before now (a Promise while tfjs compiles in parallel).
  for (const p of Object.values(be.pipelineCache)) {
    if (p instanceof Promise) void p.then((q) => keepLayouts(q as LayoutSource));
    else keepLayouts(p as LayoutSource);
  }
}
