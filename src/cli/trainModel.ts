/**
 * The model a training run starts from: a MambaLM (`--arch mamba`) or a Mamba2LM (`--arch mamba2`) sized by the
 * run's options, and the line that describes it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { createMambaLM } from '../layers/factories';
import { createMamba2LM } from '../layers/mamba2/factories';
import type { Mamba2Config } from '../layers/mamba2/config';
import type { MambaConfig } from '../layers/config';
import type { TrainOptions } from './trainOptions';

/** A fresh model for the run's options over a vocabulary of `vocabSize` tokens. */
export function buildTrainModel(o: TrainOptions, vocabSize: number): tfl.LayersModel {
  const common = { vocabSize, dModel: o.dModel, nLayers: o.nLayers, dState: o.dState, expandFactor: o.expand, dConv: o.dConv, seed: o.seed };
  if (o.arch === 'mamba2') {
    return createMamba2LM({ ...common, headDim: o.headDim, chunkSize: o.chunkSize, scanMode: o.scanMode as Mamba2Config['scanMode'] });
  }
  return createMambaLM({ ...common, scanMode: o.scanMode as MambaConfig['scanMode'] });
}

/** The architecture's part of the model line: `Mamba` or `Mamba-2 (H heads of P, chunk Q)`. */
export function describeArch(o: TrainOptions): string {
  if (o.arch !== 'mamba2') return 'Mamba';
  return `Mamba-2 (${(o.expand * o.dModel) / o.headDim} heads of ${o.headDim}, chunk ${o.chunkSize})`;
}
