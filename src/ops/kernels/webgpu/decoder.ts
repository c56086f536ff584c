/**
 * WebgpuDecoder: the fused decoding step of a Mamba LM on the 'webgpu' backend's own GPUDevice. The WGSL is in
 * ./decodeShaders.ts; this file owns the pipelines, the preallocated buffers and the per-token command buffer.
 *
 * Shape letters: B batch, D model width, ED inner channels, N state size, R Δ rank, K conv width, V padded
 * vocabulary, P = R + 2N.
 *
 * Why: tfjs dispatches every small op of a decoding step as its own kernel with its own uniform and bind-group
 * set-up (~30 per layer); here one token is one command buffer of 4 dispatches per layer plus 3, over buffers
 * allocated once (no tensor is made per token), and the next token's id is chosen on the GPU (argmax) and fed
 * to the next step's embedding there, so a greedy step reads back B int32s.
 *
 * The weights are the tfjs tensors' own GPU buffers (kept alive by the caller); the recurrent state is copied
 * in from the prefill's cache tensors and then updated in place.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DecodeDims, FLAT_WG, argmaxShader, embedShader, headShader, matvecGroups, normInShader,
  outProjShader, packedOffsets, scanStepShader, xProjShader,
} from './decodeShaders';
import { colPlan } from './colMatvec';

/* Minimal structural types of the WebGPU API (the project takes no dependency on @webgpu/types). */
/** A GPUBuffer, as far as the decoder uses it. */
export interface GpuBufferLike {
  size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface PassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number): void;
  end(): void;
}
interface EncoderLike {
  beginComputePass(): PassLike;
  copyBufferToBuffer(src: GpuBufferLike, so: number, dst: GpuBufferLike, d: number, size: number): void;
  finish(): unknown;
}
interface PipelineLike { getBindGroupLayout(i: number): unknown }
/** A GPUDevice, as far as the decoder uses it. */
export interface GpuDeviceLike {
  createBuffer(d: { size: number; usage: number }): GpuBufferLike;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): PipelineLike;
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBufferLike } }[] }): unknown;
  createCommandEncoder(): EncoderLike;
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  queue: { submit(c: unknown[]): void; writeBuffer(b: GpuBufferLike, o: number, data: ArrayBufferView): void };
}
/** The part of tfjs-backend-webgpu's WebGPUBackend the decoder uses. */
export interface WebgpuBackendForDecode {
  device: GpuDeviceLike;
  uploadToGPU(dataId: tf.DataId): void;
  tensorMap: { get(dataId: tf.DataId): { resource: unknown } | undefined };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

// GPUBufferUsage / GPUMapMode bits (numbers, so that no WebGPU global is needed at import).
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const STORAGE = 0x80;

/** The weights of one layer, as tensors in the layouts the shaders read. */
export interface DecoderLayerWeights {
  norm: tf.Tensor; // (D)
  inProj: tf.Tensor; // (D, 2ED)
  inBias: tf.Tensor; // (2ED)
  packed: tf.Tensor; // packedOffsets(d).size floats
  xProj: tf.Tensor; // (ED, P)
  dtProj: tf.Tensor; // (R, ED)
  outProj: tf.Tensor; // (ED, D)
  outBias: tf.Tensor; // (D)
}

/** Every weight of the decoder. */
export interface DecoderWeights {
  embedding: tf.Tensor; // (V, D)
  head: tf.Tensor; // (V, D)
  normF: tf.Tensor; // (D)
  layers: DecoderLayerWeights[];
}

/** What a step reads back. */
export type DecodeRead = 'ids' | 'logits';

/** The fused decoder of one model at one batch size; {@link WebgpuDecoder.dispose} frees its buffers. */
export class WebgpuDecoder {
  readonly dims: DecodeDims;
  /** Dispatches per token (4 per layer + embed, head, argmax). */
  readonly dispatchesPerToken: number;
  private readonly device: GpuDeviceLike;
  private readonly owned: GpuBufferLike[] = [];
  private readonly x: GpuBufferLike; // (B, D)
  private readonly logits: GpuBufferLike; // (B, V)
  private readonly ids: GpuBufferLike; // (B) int32
  private readonly convState: GpuBufferLike[]; // per layer (B, K−1, ED), shifted by normIn
  private readonly ssmState: GpuBufferLike[]; // per layer (B, ED, N)
  private readonly idsRead: GpuBufferLike;
  private readonly idsRing: GpuBufferLike[]; // 2 staging buffers of the pipelined greedy steps
  private ringNext = 0;
  private readonly inFlight: { staging: GpuBufferLike; mapped: Promise<void> }[] = [];
  private readonly logitsRead: GpuBufferLike;
  private readonly passes: { pipeline: PipelineLike; group: unknown; groups: [number, number] }[] = [];

  constructor(private readonly backend: WebgpuBackendForDecode, dims: DecodeDims, w: DecoderWeights) {
    const d = dims;
    if (d.K < 2) throw new Error(`WebgpuDecoder: expected a conv width K ≥ 2, got ${d.K}`);
    if (d.B < 1 || d.B > 32) throw new Error(`WebgpuDecoder: expected a batch in [1, 32], got ${d.B}`);
    this.dims = d;
    this.device = backend.device;
    this.device.pushErrorScope('validation'); // popped by ready()
    const P = d.R + 2 * d.N;
    const buf = (floats: number, extra = 0) => {
      const b = this.device.createBuffer({ size: Math.max(4, floats * 4), usage: STORAGE | COPY_SRC | COPY_DST | extra });
      this.owned.push(b);
      return b;
    };
    this.x = buf(d.B * d.D);
    const xz = buf(d.B * 2 * d.ED);
    const dbc = buf(d.B * P);
    const y = buf(d.B * d.ED);
    const xc = buf(d.B * d.ED);
    this.logits = buf(d.B * d.V);
    this.ids = buf(d.B);
    this.convState = w.layers.map(() => buf(d.B * (d.K - 1) * d.ED));
    this.ssmState = w.layers.map(() => buf(d.B * d.ED * d.N));
    const staging = (bytes: number) => {
      const b = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
      this.owned.push(b);
      return b;
    };
    this.idsRead = staging(d.B * 4);
    this.idsRing = [staging(d.B * 4), staging(d.B * 4)];
    this.logitsRead = staging(d.B * d.V * 4);

    const pipe = (code: string) => this.device.createComputePipeline({ layout: 'auto', compute: { module: this.device.createShaderModule({ code }), entryPoint: 'main' } });
    const p = {
      embed: pipe(embedShader(d)), normIn: pipe(normInShader(d)), xProj: pipe(xProjShader(d)), scan: pipe(scanStepShader(d)),
      outProj: pipe(outProjShader(d)), head: pipe(headShader(d)), argmax: pipe(argmaxShader(d)),
    };
    const g = (t: tf.Tensor) => this.bufferOf(t);
    const add = (pipeline: PipelineLike, buffers: GpuBufferLike[], groups: [number, number]) => {
      const group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.passes.push({ pipeline, group, groups });
    };
    const flat = (n: number): [number, number] => [Math.ceil(n / FLAT_WG), 1];
    if (packedOffsets(d).size !== w.layers[0]?.packed.size) throw new Error(`WebgpuDecoder: expected packed layer parameters of ${packedOffsets(d).size} floats, got ${w.layers[0]?.packed.size}`);
    add(p.embed, [this.ids, g(w.embedding), this.x], flat(d.B * d.D));
    w.layers.forEach((l, i) => {
      add(p.normIn, [this.x, g(l.norm), g(l.inProj), g(l.inBias), g(l.packed), this.convState[i], xz, xc], colPlan(d.D, 2 * d.ED).groups);
      add(p.xProj, [xc, g(l.xProj), dbc], colPlan(d.ED, P).groups);
      add(p.scan, [xz, xc, g(l.packed), dbc, g(l.dtProj), this.ssmState[i], y], flat(d.B * d.ED));
      add(p.outProj, [y, g(l.outProj), g(l.outBias), this.x], colPlan(d.ED, d.D).groups);
    });
    add(p.head, [this.x, g(w.normF), g(w.head), this.logits], matvecGroups(d.V, d.B));
    add(p.argmax, [this.logits, this.ids], [d.B, 1]);
    this.dispatchesPerToken = this.passes.length;
    this.flushTfjs(); // the weights' uploads run before the first step
  }

  /** Resolves once the pipelines and bind groups are known valid; throws the WebGPU validation error otherwise. Call once. */
  async ready(): Promise<void> {
    const error = await this.device.popErrorScope();
    if (error) throw new Error(`WebgpuDecoder: WebGPU rejected the decoder's programs: ${error.message}`);
  }

  /** The GPU buffer holding tensor t (uploaded first if its data is on the CPU). */
  private bufferOf(t: tf.Tensor): GpuBufferLike {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`WebgpuDecoder: expected float32 tensors, got ${t.dtype}`);
    this.backend.uploadToGPU(t.dataId);
    const r = this.backend.tensorMap.get(t.dataId)?.resource as GpuBufferLike | undefined;
    if (!r || typeof r.size !== 'number') throw new Error('WebgpuDecoder: expected a tensor held in a GPU buffer on the webgpu backend');
    return r;
  }

  /** Submits what tfjs has queued, so that work recorded here runs after it. */
  private flushTfjs(): void {
    this.backend.ensureCommandEncoderReady();
    this.backend.endComputePassEncoder();
    this.backend.submitQueue();
  }

  /**
   * Copies a cache into the decoder's state: per layer conv (B, K−1, ED) and ssm (B, ED, N) (the prefill's).
   * The tensors may be disposed afterwards.
   */
  loadState(conv: tf.Tensor[], ssm: tf.Tensor[]): void {
    const d = this.dims;
    if (conv.length !== this.convState.length || ssm.length !== this.ssmState.length) {
      throw new Error(`WebgpuDecoder.loadState: expected ${this.convState.length} layers, got ${conv.length} and ${ssm.length}`);
    }
    const srcs = [...conv.map((t) => this.bufferOf(t)), ...ssm.map((t) => this.bufferOf(t))];
    this.flushTfjs();
    const enc = this.device.createCommandEncoder();
    const dsts = [...this.convState, ...this.ssmState];
    const sizes = [...conv.map(() => d.B * (d.K - 1) * d.ED * 4), ...ssm.map(() => d.B * d.ED * d.N * 4)];
    srcs.forEach((s, i) => enc.copyBufferToBuffer(s, 0, dsts[i], 0, sizes[i]));
    this.device.queue.submit([enc.finish()]);
  }

  /** Records `steps` decoding steps into one command buffer (each feeds its argmax into the next). */
  private encode(steps: number, read: DecodeRead | null, idsTo = this.idsRead): unknown {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let s = 0; s < steps; s++) {
      for (const q of this.passes) {
        pass.setPipeline(q.pipeline);
        pass.setBindGroup(0, q.group);
        pass.dispatchWorkgroups(q.groups[0], q.groups[1]);
      }
    }
    pass.end();
    if (read === 'ids') enc.copyBufferToBuffer(this.ids, 0, idsTo, 0, this.dims.B * 4);
    if (read === 'logits') enc.copyBufferToBuffer(this.logits, 0, this.logitsRead, 0, this.dims.B * this.dims.V * 4);
    return enc.finish();
  }

  /**
   * One token: embeds `tokens` (B ids; null: the ids the previous step's argmax left on the GPU), runs every
   * layer and the head, and reads back the greedy ids (B) or the logits (B·V, row-major).
   */
  async step(tokens: number[] | null, read: 'ids'): Promise<Int32Array>;
  async step(tokens: number[] | null, read: 'logits'): Promise<Float32Array>;
  async step(tokens: number[] | null, read: DecodeRead): Promise<Int32Array | Float32Array> {
    if (tokens) {
      if (tokens.length !== this.dims.B) throw new Error(`WebgpuDecoder.step: expected ${this.dims.B} token ids, got ${tokens.length}`);
      this.device.queue.writeBuffer(this.ids, 0, Int32Array.from(tokens));
    }
    this.device.queue.submit([this.encode(1, read)]);
    const staging = read === 'ids' ? this.idsRead : this.logitsRead;
    await staging.mapAsync(MAP_READ);
    const out = read === 'ids' ? new Int32Array(staging.getMappedRange().slice(0)) : new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return out;
  }

  /** Greedy steps submitted by {@link submitGreedy} whose ids are not yet taken. */
  get pendingSteps(): number {
    return this.inFlight.length;
  }

  /**
   * Submits one greedy step without waiting for it (tokens: B ids; null: the ids the previous step chose on the
   * GPU); {@link takeIds} reads its ids later, in submission order. At most 2 steps are in flight, so that the
   * GPU runs the next step while the host reads this one's ids.
   */
  submitGreedy(tokens: number[] | null): void {
    if (this.inFlight.length >= 2) throw new Error('WebgpuDecoder.submitGreedy: expected at most 2 steps in flight; take one with takeIds first');
    if (tokens) {
      if (tokens.length !== this.dims.B) throw new Error(`WebgpuDecoder.submitGreedy: expected ${this.dims.B} token ids, got ${tokens.length}`);
      this.device.queue.writeBuffer(this.ids, 0, Int32Array.from(tokens));
    }
    const staging = this.idsRing[this.ringNext];
    this.ringNext = 1 - this.ringNext;
    this.device.queue.submit([this.encode(1, 'ids', staging)]);
    const mapped = staging.mapAsync(MAP_READ);
    mapped.catch(() => undefined); // a step still in flight at dispose() is abandoned (its mapping rejects)
    this.inFlight.push({ staging, mapped });
  }

  /** The ids (B) of the oldest step submitted by {@link submitGreedy} and not yet taken. */
  async takeIds(): Promise<Int32Array> {
    const f = this.inFlight.shift();
    if (!f) throw new Error('WebgpuDecoder.takeIds: expected a step in flight (submitGreedy first)');
    await f.mapped;
    const out = new Int32Array(f.staging.getMappedRange().slice(0));
    f.staging.unmap();
    return out;
  }

  /**
   * Runs `steps` greedy steps in one submission with no read back until the end (a measure of the GPU's own
   * time per token, free of the per-token round trip); returns the last ids.
   */
  async runGreedy(steps: number): Promise<Int32Array> {
    this.device.queue.submit([this.encode(steps, 'ids')]);
    await this.idsRead.mapAsync(MAP_READ);
    const out = new Int32Array(this.idsRead.getMappedRange().slice(0));
    this.idsRead.unmap();
    return out;
  }

  /** Frees the decoder's own buffers (not the weights: those belong to their tensors). */
  dispose(): void {
    this.inFlight.length = 0;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
