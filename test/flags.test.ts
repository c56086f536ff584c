/**
 * The behaviour switches (src/flags.ts) are tfjs flags: registered once, defaulting to the environment variable of
 * the same name, read with tf.env().get, and checked when set.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  FLAGS, RECOMPUTE_FLAG, SCAN_IMPL_FLAG, THREADS_FLAG, WASM_THREADS_FLAG, WEBGPU_SCAN_CHUNK_FLAG, recomputePolicy, scanImpl, threadsFlag,
  wasmThreadsFlag, webgpuScanTuning,
} from '../src/flags';
import { recomputesInBackward, setRecomputeInBackward } from '../src/ops/block/fusedBlock';
import { setEnvFlag } from './helpers/flags';

afterEach(() => {
  for (const f of FLAGS) setEnvFlag(f, undefined);
});

test('every flag is registered with tfjs and has a default', () => {
  for (const f of FLAGS) expect(tf.env().get(f)).toBeDefined();
  expect(webgpuScanTuning()).toEqual({ mode: 'chunked', chunk: 32, unroll: false });
  expect(recomputePolicy()).toBe('auto');
  expect(scanImpl()).toBe('simd');
});

test('the environment variable is the default; tf.env().set overrides it', () => {
  setEnvFlag(SCAN_IMPL_FLAG, 'js');
  expect(scanImpl()).toBe('js');
  tf.env().set(SCAN_IMPL_FLAG, 'simd');
  expect(scanImpl()).toBe('simd');
  setEnvFlag(RECOMPUTE_FLAG, '1');
  expect(recomputePolicy()).toBe('true');
  setEnvFlag(RECOMPUTE_FLAG, 'yes'); // not a recognised value: the default
  expect(recomputePolicy()).toBe('auto');
});

test('MAMBA_TFJS_RECOMPUTE takes strings or booleans (tfjs parses ?tfjsflags=…:true into true); the setter sets it', () => {
  tf.env().set(RECOMPUTE_FLAG, true);
  expect(recomputesInBackward()).toBe(true);
  tf.env().set(RECOMPUTE_FLAG, false);
  expect(recomputesInBackward()).toBe(false);
  setRecomputeInBackward(true);
  expect(tf.env().get(RECOMPUTE_FLAG)).toBe('true');
  setRecomputeInBackward('auto');
  expect(recomputesInBackward()).toBe(tf.getBackend() === 'webgpu');
});

test('bad values are refused in one line naming the flag', () => {
  expect(() => tf.env().set(SCAN_IMPL_FLAG, 'fast')).toThrow(/^MAMBA_TFJS_SCAN_IMPL: expected one of simd, js, got fast$/);
  expect(() => tf.env().set(WEBGPU_SCAN_CHUNK_FLAG, 100)).toThrow(/MAMBA_TFJS_WEBGPU_SCAN_CHUNK: expected an integer in \[1, 64\], got 100/);
});

test("MAMBA_TFJS_THREADS: 0 (one per core) and MAMBA_TFJS_WASM_THREADS: 'auto' unless the variables say another; a negative or fractional count throws", () => {
  setEnvFlag(THREADS_FLAG, undefined); // the jest setup sets both to 1
  setEnvFlag(WASM_THREADS_FLAG, undefined);
  expect(threadsFlag()).toBe(0);
  expect(wasmThreadsFlag()).toBe('auto');
  setEnvFlag(WASM_THREADS_FLAG, '1');
  expect(wasmThreadsFlag()).toBe(1);
  setEnvFlag(WASM_THREADS_FLAG, '0');
  expect(wasmThreadsFlag()).toBe(0);
  setEnvFlag(THREADS_FLAG, '3');
  expect(threadsFlag()).toBe(3);
  expect(() => tf.env().set(THREADS_FLAG, -1)).toThrow(/MAMBA_TFJS_THREADS: expected an integer >= 0, got -1/);
  expect(() => tf.env().set(THREADS_FLAG, 1.5)).toThrow(/got 1.5/);
  expect(() => tf.env().set(WASM_THREADS_FLAG, -2)).toThrow(/MAMBA_TFJS_WASM_THREADS: expected 'auto' or an integer >= 0, got -2/);
  expect(() => tf.env().set(WASM_THREADS_FLAG, 'many')).toThrow(/got many/);
});
