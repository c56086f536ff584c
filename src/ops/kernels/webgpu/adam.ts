/**
 * One Adam step over flat vectors as a single WGSL dispatch for the 'webgpu' backend ('MambaAdamStep', used by
 * FlatAdam, src/training/flatAdam.ts): {g, m, v, p} (S each) → (3S) = [m' | v' | p'], with tf.train.adam's arithmetic
 *   m' = m·b1 + g·(1 − b1),  v' = v·b2 + g²·(1 − b2),  p' = p + (m'/(1 − acc1)) / (√(v'/(1 − acc2)) + eps) · (−lr).
 * attrs: b1, b2, oneMinusB1, oneMinusB2, oneMinusAcc1, oneMinusAcc2, eps, negLr (numbers, passed as uniforms).
 *
 * Why: the same update as tf ops is ~16 dispatches, and each JS number in them (b1, 1 − b1, …) is a scalar tensor
 * that tfjs-webgpu uploads into a new GPU buffer on every step (Dawn's createBuffer: ~0.2 ms each in Node);
 * here the numbers travel as uniforms of one dispatch.
 *
 * Shape letters: S the number of parameters (all variables laid end to end).
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, flatWgslProgram } from './common';
import { ADAM_STEP_KERNEL } from '../names';

/** The attrs, in the order of the uniforms. */
export const ADAM_ATTRS = ['b1', 'b2', 'oneMinusB1', 'oneMinusB2', 'oneMinusAcc1', 'oneMinusAcc2', 'eps', 'negLr'] as const;
/** Largest S: the (3S) output is indexed by i32. */
export const ADAM_MAX_SIZE = Math.floor((2 ** 31 - 1) / 3);

const BODY = `
    let s = uniforms.nS;
    if (index >= s) { return; }
    let g = inG[index];
    let m2 = inM[index] * uniforms.b1 + g * uniforms.oneMinusB1;
    let v2 = inV[index] * uniforms.b2 + (g * g) * uniforms.oneMinusB2;
    let mHat = m2 / uniforms.oneMinusAcc1;
    let vHat = v2 / uniforms.oneMinusAcc2;
    result[index] = m2;
    result[s + index] = v2;
    result[2 * s + index] = inP[index] + (mHat / (sqrt(vHat) + uniforms.eps)) * uniforms.negLr;`;

const webgpuAdamStep: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const ts = float32Inputs(ADAM_STEP_KERNEL, inputs, ['g', 'm', 'v', 'p']);
  const s = ts[0].shape.length === 1 ? ts[0].shape[0] : -1;
  if (s < 1 || ts.some((t) => t.shape.length !== 1 || t.shape[0] !== s)) {
    throw new Error(`${ADAM_STEP_KERNEL} (webgpu): expected g, m, v and p of one shape (S), got ${ts.map((t) => `[${t.shape}]`).join(', ')}`);
  }
  if (s > ADAM_MAX_SIZE) throw new Error(`${ADAM_STEP_KERNEL} (webgpu): expected at most ${ADAM_MAX_SIZE} parameters, got ${s}`);
  const values = ADAM_ATTRS.map((k) => Number((attrs as Record<string, number>)[k]));
  const bad = ADAM_ATTRS.find((k, i) => !Number.isFinite(values[i]));
  if (bad) throw new Error(`${ADAM_STEP_KERNEL} (webgpu): expected attr ${bad} a finite number, got ${String((attrs as Record<string, unknown>)[bad])}`);
  const program = {
    ...flatWgslProgram('mambaAdamStep', [3 * s], s, ['inG', 'inM', 'inV', 'inP'], '', BODY),
    uniforms: `nS : i32, ${ADAM_ATTRS.map((k) => `${k} : f32,`).join(' ')}`,
  };
  const uniforms = [{ type: 'int32' as const, data: [s] }, ...values.map((v) => ({ type: 'float32' as const, data: [v] }))];
  return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, ts, 'float32', uniforms); // (3S)
};

/** Registers MambaAdamStep for 'webgpu' (idempotent). */
export function registerAdamWebgpuKernel(): void {
  registerOnce(ADAM_STEP_KERNEL, 'webgpu', webgpuAdamStep);
}
