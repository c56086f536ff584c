/**
 * ResidualBlock: x + mixer(rmsnorm(x)).
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedBlockEnabled } from '../flags';
import { serialization } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { ParentLayer, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { MambaBlock, MambaBlockArgs } from './mambaBlock';
import { RMSNorm } from './rmsNorm';
import { blockScanMode, configForSave } from './config';
import { fusedResidualBlock } from '../ops/block/fusedBlock';
import { hasFusedScanKernel } from '../ops/scan/fusedSelectiveScan';
import { checkLastDim } from './validate';
import type { MambaBlockCache } from './cache';

export type ResidualBlockArgs = MambaBlockArgs;

/** One residual block as a tf.layers layer: x + mixer(rmsnorm(x)), (B, L, D) → (B, L, D). */
export class ResidualBlock extends ParentLayer {
  /** Name under which tfjs serializes the layer. */
  static className = 'ResidualBlock';
  /** Prefix of this block's weight names (`backbone.layers.i.`). */
  readonly weightPrefix: string;
  /** The RMSNorm before the mixer. */
  readonly norm: RMSNorm;
  /** The mixer. */
  readonly mixer: MambaBlock;

  constructor(args: ResidualBlockArgs) {
    super(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    const { name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...blockArgs } = args;
    this.mixer = new MambaBlock({ ...blockArgs, weightPrefix: `${this.weightPrefix}mixer.` });
    this.norm = new RMSNorm({ dModel: this.mixer.config.dModel, eps: this.mixer.config.normEps, weightPrefix: `${this.weightPrefix}norm.` });
  }

  protected subLayers(): layers.Layer[] {
    return [this.norm, this.mixer];
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    if (this.usesFusedBlock()) {
      const c = this.mixer.config;
      checkLastDim(x, c.dModel, 'ResidualBlock');
      const w = this.mixer.w;
      const read = (v: { read(): tf.Tensor } | null) => (v ? v.read() : null);
      return tf.tidy(() => fusedResidualBlock(tf.cast(x, 'float32'), {
        normWeight: this.norm.weight.read(), inProj: w.inProj.read(), inProjBias: read(w.inProjBias), conv: w.conv.read(),
        convBias: read(w.convBias), xProj: w.xProj.read(), dtProj: w.dtProj.read(), dtProjBias: w.dtProjBias.read(),
        aLog: w.aLog.read(), d: w.d.read(), outProj: w.outProj.read(), outProjBias: read(w.outProjBias),
      }, { eps: this.norm.eps, dtRank: c.dtRank, dState: c.dState, ...(c.bcdtNorm ? { bcdtNormEps: c.bcdtNormEps } : {}) })); // (B, L, D)
    }
    return tf.tidy(() => tf.add(x, this.mixer.call(this.norm.call(x, kwargs), kwargs) as tf.Tensor)); // (B, L, D)
  }

  /**
   * Whether call() runs the block as one op with a hand-written backward (ops/block/fusedBlock.ts): when the scan runs
   * fused on the active backend, unless the flag MAMBA_TFJS_FUSED_BLOCK is false (the layer-by-layer ops).
   */
  usesFusedBlock(): boolean {
    if (!fusedBlockEnabled() || this.mixer.scales) return false; // int8 weights: the layer-by-layer ops
    const mode = blockScanMode(this.mixer.config);
    return (mode === 'fused' || mode === 'auto') && hasFusedScanKernel();
  }

  /** The mixer's cache before the first token. */
  emptyCache(batch: number): MambaBlockCache {
    return this.mixer.emptyCache(batch);
  }

  /** One decoding step: x (B, D) → x + mixer.step(norm(x)) (B, D), and the mixer's next cache. */
  step(x: tf.Tensor, cache: MambaBlockCache): { y: tf.Tensor2D; cache: MambaBlockCache } {
    const d = this.mixer.config.dModel;
    if (x.rank !== 2 || x.shape[1] !== d) throw new Error(`ResidualBlock.step: expected x of shape (batch, ${d}), got [${x.shape}]`);
    return tf.tidy(() => {
      const [b] = x.shape;
      const normed = tf.reshape(this.norm.call(tf.reshape(x, [b, 1, d]), {}) as tf.Tensor, [b, d]); // (B, D)
      const out = this.mixer.step(normed, cache); // (B, D)
      return { y: tf.add(x, out.y) as tf.Tensor2D, cache: out.cache }; // (B, D)
    });
  }

  /** The parallel forward over a prompt, x (B, L, D) → (B, L, D), and the mixer's cache after it. mask: (B, L). */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: MambaBlockCache } {
    return tf.tidy(() => {
      const out = this.mixer.prefill(this.norm.call(x, {}) as tf.Tensor, mask); // (B, L, D)
      return { y: tf.add(x, out.y) as tf.Tensor3D, cache: out.cache }; // (B, L, D)
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...configForSave(this.mixer.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(ResidualBlock);
