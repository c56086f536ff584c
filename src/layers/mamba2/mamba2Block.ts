/**
 * Mamba2Block, the Mamba-2 mixer: in_proj → [z (ED), xBC (ED + 2GN), dt (H)]; xBC → causal depthwise conv →
 * silu → x, B, C; Δ = softplus(dt + dt_bias) (clamped to [dtLimitMin, dtLimitMax]); SSD scan with a scalar
 * A = −exp(A_log) per head; y · silu(z) → RMS norm (weight) → out_proj.
 *
 * Shape letters: B batch, L length, D model width, ED = E·D inner channels, H heads, P head dim (ED = H·P),
 * G groups, N state size, K conv width, CD = ED + 2·G·N conv channels.
 *
 * Porting note: HF's Mamba2 normalizes the gated output over all ED channels (normGroups 1, the default); mamba_ssm
 * normalizes per group when ngroups > 1 (normGroups = ngroups, set when converting the original layout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, weightPrefixOf, weightPrefixConfig } from '../parentLayer';
import { Mamba2Config, ResolvedMamba2Config, mamba2ConfigForSave, resolveMamba2Config } from './config';
import { SeedStream, constant, dtBiasInit, headALogInit, uniformFanIn } from '../initializers';
import { linear } from '../../ops/linear/linear';
import { silu } from '../../ops/activations/silu';
import { softplus } from '../../ops/activations/softplus';
import { causalConv } from '../../ops/conv/causalConv';
import { convStep, convTail } from '../../ops/conv/convState';
import { ssd, ssdStep } from '../../ops/ssd/ssd';
import { gatedRmsNorm } from '../../ops/norm/gatedRms';
import { checkLastDim } from '../validate';

/** Arguments of a {@link Mamba2Block}: a Mamba-2 config and the layer name. */
export interface Mamba2BlockArgs extends NamedWeightsArgs, Omit<Mamba2Config, 'nLayers'> {
  /** Unused by a single block; accepted so one config object fits every layer. */
  nLayers?: number;
}

/** The cache of one Mamba2Block (a type, so that tf.tidy may return it). */
export type Mamba2BlockCache = {
  /** (B, K−1, CD) the last K−1 conv inputs, oldest first. */
  conv: tf.Tensor3D;
  /** (B, H, P, N) the scan's state. */
  ssm: tf.Tensor4D;
};

/** The Mamba-2 mixer as a tf.layers layer: in_proj → causal conv → SSD → gated RMS norm → out_proj, (B, L, D) → (B, L, D). */
export class Mamba2Block extends layers.Layer {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2Block';
  /** The resolved configuration (every default filled in). */
  readonly config: ResolvedMamba2Config;
  /** Prefix of this layer's weight names (the checkpoint keys). */
  readonly weightPrefix: string;
  /** The block's weights, named as the checkpoint keys. */
  readonly w: Record<'inProj' | 'conv' | 'dtBias' | 'aLog' | 'd' | 'norm' | 'outProj', LayerVariable> &
    Record<'inProjBias' | 'convBias' | 'outProjBias', LayerVariable | null>;

  constructor(args: Mamba2BlockArgs) {
    super(args);
    this.config = resolveMamba2Config({ ...args, nLayers: args.nLayers ?? 1 });
    this.weightPrefix = weightPrefixOf(args, this.name);
    const c = this.config;
    const seeds = new SeedStream(c.seed);
    const zeros = c.weightInit === 'zeros' ? constant(0) : null;
    const add = (name: string, shape: number[], init: ReturnType<typeof constant>) =>
      this.addWeight(`${this.weightPrefix}${name}`, shape, 'float32', zeros ?? init);
    const proj = 2 * c.dInner + 2 * c.nGroups * c.dState + c.nHeads;
    // Porting note: kernels are (in, out) and the conv (K, CD), as in MambaBlock; conversion transposes.
    this.w = {
      inProj: add('in_proj.weight', [c.dModel, proj], uniformFanIn(c.dModel, seeds)),
      inProjBias: c.bias ? add('in_proj.bias', [proj], uniformFanIn(c.dModel, seeds)) : null,
      conv: add('conv1d.weight', [c.dConv, c.convDim], uniformFanIn(c.dConv, seeds)),
      convBias: c.convBias ? add('conv1d.bias', [c.convDim], uniformFanIn(c.dConv, seeds)) : null,
      dtBias: add('dt_bias', [c.nHeads], dtBiasInit(c.dtMin, c.dtMax, c.dtInitFloor, seeds)),
      aLog: add('A_log', [c.nHeads], headALogInit()), // A = 1..H
      d: add('D', [c.nHeads], constant(1)),
      norm: add('norm.weight', [c.dInner], constant(1)),
      outProj: add('out_proj.weight', [c.dInner, c.dModel], uniformFanIn(c.dInner, seeds)),
      outProjBias: c.bias ? add('out_proj.bias', [c.dModel], uniformFanIn(c.dInner, seeds)) : null,
    };
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** in_proj and its split: z (B, L, ED), xBC (B, L, CD) before the conv, dt (B, L, H) raw. */
  private split(x: tf.Tensor): { z: tf.Tensor; xbc: tf.Tensor; dt: tf.Tensor } {
    const c = this.config;
    const [b, l] = x.shape;
    const all = linear(x, this.w.inProj.read(), this.w.inProjBias?.read()); // (B, L, 2·ED + 2GN + H)
    return {
      z: tf.slice(all, [0, 0, 0], [b, l, c.dInner]), // (B, L, ED)
      xbc: tf.slice(all, [0, 0, c.dInner], [b, l, c.convDim]), // (B, L, CD)
      dt: tf.slice(all, [0, 0, c.dInner + c.convDim], [b, l, c.nHeads]), // (B, L, H)
    };
  }

  /** The scan's inputs from the conv output (B, L, CD) and the raw dt (B, L, H). */
  private scanInputs(xbc: tf.Tensor, dtRaw: tf.Tensor) {
    const c = this.config;
    const [b, l] = xbc.shape;
    const gn = c.nGroups * c.dState;
    let dt = softplus(tf.add(dtRaw, this.w.dtBias.read())); // (B, L, H)
    if (c.dtLimitMin > 0 || Number.isFinite(c.dtLimitMax)) dt = tf.clipByValue(dt, c.dtLimitMin, c.dtLimitMax);
    return {
      x: tf.reshape(tf.slice(xbc, [0, 0, 0], [b, l, c.dInner]), [b, l, c.nHeads, c.headDim]), // (B, L, H, P)
      bm: tf.reshape(tf.slice(xbc, [0, 0, c.dInner], [b, l, gn]), [b, l, c.nGroups, c.dState]), // (B, L, G, N)
      cm: tf.reshape(tf.slice(xbc, [0, 0, c.dInner + gn], [b, l, gn]), [b, l, c.nGroups, c.dState]), // (B, L, G, N)
      dt, a: tf.neg(tf.exp(this.w.aLog.read())), d: this.w.d.read(), // (B, L, H), (H), (H)
    };
  }

  /** RMSNorm(y · silu(z)) · norm.weight over ED (or per norm group), then out_proj: y, z (B, L, ED) → (B, L, D). */
  private gateOut(y: tf.Tensor, z: tf.Tensor): tf.Tensor {
    const normed = gatedRmsNorm(y, z, this.w.norm.read(), this.config.normEps, this.config.normGroups); // (B, L, ED)
    return linear(normed, this.w.outProj.read(), this.w.outProjBias?.read()); // (B, L, D)
  }

  /** The forward over x (B, L, D): y (B, L, D), the conv's inputs (B, L, CD) and the final state (B, H, P, N). */
  private forward(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor; xin: tf.Tensor; state: tf.Tensor } {
    const c = this.config;
    const [b, l] = x.shape;
    const { z, xbc, dt } = this.split(x);
    const mask3 = mask ? tf.reshape(tf.cast(mask, 'float32'), [b, l, 1]) : null; // (B, L, 1)
    const xin = mask3 ? tf.mul(xbc, mask3) : xbc; // (B, L, CD)
    const convOut = silu(causalConv(xin, this.w.conv.read(), this.w.convBias?.read())); // (B, L, CD)
    const s = this.scanInputs(mask3 ? tf.mul(convOut, mask3) : convOut, dt);
    const out = ssd(s, c.scanMode, c.chunkSize); // (B, L, H, P), (B, H, P, N)
    return { y: this.gateOut(tf.reshape(out.y, [b, l, c.dInner]), z), xin, state: out.state };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.config.dModel, 'Mamba2Block');
    return tf.tidy(() => this.forward(x).y); // (B, L, D)
  }

  /** The cache before the first token: zeros, conv (B, K−1, CD) and ssm (B, H, P, N). */
  emptyCache(batch: number): Mamba2BlockCache {
    const c = this.config;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`Mamba2 cache: expected a positive integer batch, got ${batch}`);
    return { conv: tf.zeros([batch, c.dConv - 1, c.convDim]), ssm: tf.zeros([batch, c.nHeads, c.headDim, c.dState]) };
  }

  /**
   * The parallel forward over a prompt, x (B, L, D) → y (B, L, D) (equal to `call`), and the cache after it.
   * @param mask (B, L) optional, 1 for tokens and 0 for padding: the conv's input and output are zeroed there
   */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: Mamba2BlockCache } {
    checkLastDim(x, this.config.dModel, 'Mamba2Block.prefill');
    return tf.tidy(() => {
      const out = this.forward(x, mask);
      return { y: out.y as tf.Tensor3D, cache: { conv: convTail(out.xin, this.config.dConv), ssm: out.state as tf.Tensor4D } };
    });
  }

  /** One decoding step: x (B, D) → y (B, D), and the next cache. Does not dispose `cache`. */
  step(x: tf.Tensor, cache: Mamba2BlockCache): { y: tf.Tensor2D; cache: Mamba2BlockCache } {
    const c = this.config;
    if (x.rank !== 2 || x.shape[1] !== c.dModel) throw new Error(`Mamba2Block.step: expected x of shape (batch, ${c.dModel}), got [${x.shape}]`);
    const [b] = x.shape;
    const want = [[b, c.dConv - 1, c.convDim], [b, c.nHeads, c.headDim, c.dState]];
    const got = [cache?.conv?.shape ?? [], cache?.ssm?.shape ?? []];
    if (got.some((s, i) => s.length !== want[i].length || s.some((d, k) => d !== want[i][k]))) {
      throw new Error(`Mamba2Block.step: expected a cache {conv [${want[0]}], ssm [${want[1]}]}, got {conv [${got[0]}], ssm [${got[1]}]}`);
    }
    return tf.tidy(() => {
      const { z, xbc, dt } = this.split(tf.reshape(x, [b, 1, c.dModel])); // (B, 1, ·)
      const conv = convStep(cache.conv, tf.reshape(xbc, [b, c.convDim]), this.w.conv.read(), this.w.convBias?.read()); // (B, CD)
      const s = this.scanInputs(tf.reshape(silu(conv.out), [b, 1, c.convDim]), dt);
      const sq = (t: tf.Tensor) => tf.squeeze(t, [1]);
      const out = ssdStep(cache.ssm, sq(s.x), sq(s.dt), s.a, sq(s.bm), sq(s.cm), s.d); // (B, H, P), (B, H, P, N)
      const y = tf.reshape(this.gateOut(tf.reshape(out.y, [b, 1, c.dInner]), z), [b, c.dModel]) as tf.Tensor2D; // (B, D)
      return { y, cache: { conv: conv.state, ssm: out.state as tf.Tensor4D } };
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mamba2ConfigForSave(this.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(Mamba2Block);
