/**
 * The fused webgpu decoding path of {@link generate}: a MambaLM on the 'webgpu' backend decodes through
 * WebgpuDecoder (../ops/kernels/webgpu/decoder.ts) instead of MambaLM.step, when the flag
 * MAMBA_TFJS_WEBGPU_FUSED_DECODE is on (default). Mamba-2 models, FalconMamba's Δ/B/C norms, int8 weights and
 * batches over 32 keep the tfjs path.
 *
 * Shape letters: B batch, D model width, ED inner channels, N state size, R Δ rank, K conv width, V padded
 * vocabulary, P = R + 2N.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MambaLM } from '../layers/mambaLM';
import { DecoderWeights, WebgpuBackendForDecode, WebgpuDecoder } from '../ops/kernels/webgpu/decoder';
import { packedOffsets } from '../ops/kernels/webgpu/decodeShaders';
import { webgpuFusedDecode } from '../flags';

/** Whether `lm` at batch `b` decodes through the fused webgpu decoder. */
export function usesFusedDecode(lm: unknown, b: number): lm is MambaLM {
  if (!(lm instanceof MambaLM) || tf.getBackend() !== 'webgpu' || !webgpuFusedDecode()) return false;
  const c = lm.backbone.config;
  return !c.bcdtNorm && !lm.int8Scales && c.dConv >= 2 && b >= 1 && b <= 32; // int8: no WGSL kernels
}

/**
 * The weights of `lm` for the decoder: the matrices as stored (the decoder reads tfjs's (in, out) layout), plus
 * new small tensors (the packed per-layer parameters, zero biases; the caller disposes them).
 */
function decoderWeights(lm: MambaLM): { weights: DecoderWeights; made: tf.Tensor[] } {
  const made: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const weights = tf.tidy(() => {
    const layers = lm.backbone.blocks.map((blk) => {
      const w = blk.mixer.w;
      const c = blk.mixer.config;
      const ed = c.dInner;
      const zeros = (n: number) => tf.zeros([n]);
      const packed = tf.concat([
        tf.reshape(w.conv.read(), [-1]), // (K·ED)
        w.convBias ? w.convBias.read() : zeros(ed), // (ED)
        w.dtProjBias.read(), // (ED)
        w.d.read(), // (ED)
        tf.reshape(w.aLog.read(), [-1]), // (ED·N)
      ]);
      return {
        norm: blk.norm.weight.read(), // (D)
        inProj: w.inProj.read(), // (D, 2ED), as stored
        inBias: keep(w.inProjBias ? tf.clone(w.inProjBias.read()) : zeros(2 * ed)), // (2ED)
        packed: keep(packed), // packedOffsets size
        xProj: w.xProj.read(), // (ED, P)
        dtProj: w.dtProj.read(), // (R, ED)
        outProj: w.outProj.read(), // (ED, D)
        outBias: keep(w.outProjBias ? tf.clone(w.outProjBias.read()) : zeros(c.dModel)), // (D)
      };
    });
    made.forEach((t) => tf.keep(t));
    return { embedding: lm.embedding.read(), head: lm.headWeight(), normF: lm.normF.weight.read(), layers };
  });
  return { weights, made };
}

/** A fused decoder of `lm` at batch `b` and the tensors it reads; dispose both when done. */
export function fusedDecoder(lm: MambaLM, b: number): { decoder: WebgpuDecoder; dispose: () => void } {
  const c = lm.backbone.config;
  const dims = { B: b, D: c.dModel, ED: c.dInner, N: c.dState, R: c.dtRank, K: c.dConv, V: lm.paddedVocab, eps: c.normEps };
  const { weights, made } = decoderWeights(lm);
  if (weights.layers[0] && weights.layers[0].packed.size !== packedOffsets(dims).size) throw new Error('fusedDecode: packed parameters of an unexpected size');
  let decoder: WebgpuDecoder;
  try {
    decoder = new WebgpuDecoder(tf.backend() as unknown as WebgpuBackendForDecode, dims, weights);
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
  return {
    decoder,
    dispose: () => {
      decoder.dispose();
      tf.dispose(made);
    },
  };
}
