/**
 * ResidualBlock: x + mixer(rmsnorm(x)).
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedBlockEnabled } from '../flags';
import { serialization } from '@tensorflow/tfjs-core';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { ResidualBase } from './stackBase';
import { MambaBlock, MambaBlockArgs } from './mambaBlock';
import { blockScanMode, configForSave } from './config';
import { fusedResidualBlock } from '../ops/block/fusedBlock';
import { hasFusedScanKernel } from '../ops/scan/fusedSelectiveScan';
import { checkLastDim } from './validate';
import type { MambaBlockCache } from './cache';

export type ResidualBlockArgs = MambaBlockArgs;

/** One residual block as a tf.layers layer: x + mixer(rmsnorm(x)), (B, L, D) → (B, L, D). */
export class ResidualBlock extends ResidualBase<MambaBlock, MambaBlockCache, ResidualBlockArgs> {
  /** Name under which tfjs serializes the layer. */
  static className = 'ResidualBlock';

  constructor(args: ResidualBlockArgs) {
    super(args, (mixerArgs) => new MambaBlock(mixerArgs));
  }

  protected mixerConfigForSave(): serialization.ConfigDict {
    return configForSave(this.mixer.config);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    if (!this.usesFusedBlock()) return super.call(x, kwargs); // (B, L, D)
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

  /**
   * Whether call() runs the block as one op with a hand-written backward (ops/block/fusedBlock.ts): when the scan runs
   * fused on the active backend, unless the flag MAMBA_TFJS_FUSED_BLOCK is false (the layer-by-layer ops).
   */
  usesFusedBlock(): boolean {
    if (!fusedBlockEnabled() || this.mixer.scales) return false; // int8 weights: the layer-by-layer ops
    const mode = blockScanMode(this.mixer.config);
    return (mode === 'fused' || mode === 'auto') && hasFusedScanKernel();
  }
}
serialization.registerClass(ResidualBlock);
