/**
 * Unusual inputs: empty batches and sequences, float and out-of-range token ids, NaN in a Mamba stack's input.
 * Each gives a clear Error or the behaviour documented in docs/limits.md.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { createMambaLM, findMambaLM, mambaLayer, generate } from '../../src/node';
import { checkTokenIds } from '../../src/layers/validate';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const MODES = ['auto', 'fused', 'pscan', 'sequential'] as const;

describe.each(MODES)('Mamba stack, scanMode %s', (scanMode) => {
  const layer = mambaLayer({ dModel: 8, nLayers: 2, scanMode, seed: 1 });

  test.each([
    ['length 0', [2, 0, 8]],
    ['batch 0', [0, 5, 8]],
  ])('%s is refused with a clear Error', (_what, shape) => {
    const x = tf.zeros(shape as number[]);
    expect(() => layer.apply(x)).toThrow(/^Mamba: expected an input with batch >= 1 and length >= 1, got shape \[.*\] \(empty inputs are not supported\)$/);
    x.dispose();
  });

  test('NaN in the input propagates causally: that position and later ones of that sequence only', () => {
    const values = tf.randomNormal([2, 12, 8], 0, 1, 'float32', 2).arraySync() as number[][][];
    values[0][5][3] = NaN;
    const y = tf.tidy(() => (layer.apply(tf.tensor3d(values)) as tf.Tensor).arraySync() as number[][][]);
    const nanAt = y.map((row) => row.map((v) => (v.some(Number.isNaN) ? 1 : 0)).join(''));
    expect(nanAt).toEqual(['000001111111', '000000000000']);
  });

  test('Infinity in the input poisons the same positions', () => {
    const values = tf.randomNormal([1, 6, 8], 0, 1, 'float32', 3).arraySync() as number[][][];
    values[0][2][0] = Infinity;
    const y = tf.tidy(() => (layer.apply(tf.tensor3d(values)) as tf.Tensor).arraySync() as number[][][]);
    expect(y[0].map((v) => (v.every(Number.isFinite) ? 0 : 1)).join('')).toBe('001111');
  });
});

describe('token ids', () => {
  const model = createMambaLM({ vocabSize: 10, dModel: 8, nLayers: 1, seed: 4 }); // padded vocabulary 16
  const lm = findMambaLM(model);
  afterAll(() => model.dispose());

  test.each([
    ['length 0', [1, 0]],
    ['batch 0', [0, 3]],
  ])('%s is refused by the MambaLM layer (model.apply)', (_what, shape) => {
    const ids = tf.zeros(shape as number[], 'int32');
    expect(() => model.apply(ids)).toThrow(/^MambaLM: expected token ids with batch >= 1 and length >= 1, got shape/);
    ids.dispose();
  });

  test('ids are read on host-memory backends only: no synchronous GPU readback per forward pass on webgl/webgpu', async () => {
    const ids = tf.tensor2d([[1, 99]], [1, 2], 'int32'); // 99: out of range
    const read = jest.spyOn(ids, 'dataSync');
    // A backend that is not in host memory, as webgl and webgpu are not (a cpu backend under another name).
    tf.registerBackend('test-gpu', () => new MathBackendCPU());
    try {
      await tf.setBackend('test-gpu');
      expect(() => checkTokenIds(ids, 16, 'MambaLM')).not.toThrow();
      expect(read).not.toHaveBeenCalled();
      await tf.setBackend('cpu');
      expect(() => checkTokenIds(ids, 16, 'MambaLM')).toThrow(/got 99 at flat index 1/);
      expect(read).toHaveBeenCalledTimes(1);
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('test-gpu');
      ids.dispose();
    }
  });

  test('length 0 through model.predict is refused by the layer too', () => {
    const ids = tf.zeros([1, 0], 'int32');
    expect(() => model.predict(ids)).toThrow(/MambaLM: expected token ids with batch >= 1 and length >= 1/);
    ids.dispose();
  });

  test('batch 0 through model.predict fails inside tfjs (documented)', () => {
    const ids = tf.zeros([0, 3], 'int32');
    expect(() => model.predict(ids)).toThrow(/Pass at least one tensor to concat/);
    ids.dispose();
  });

  test.each([
    ['negative', [[-1, 2]], /MambaLM: expected token ids in \[0, 16\), got -1 at flat index 0/],
    ['beyond the padded vocabulary', [[3, 16]], /MambaLM: expected token ids in \[0, 16\), got 16 at flat index 1/],
  ])('%s ids are refused', (_what, ids, message) => {
    const t = tf.tensor2d(ids as number[][], undefined, 'int32');
    expect(() => model.predict(t)).toThrow(message as RegExp);
    t.dispose();
  });

  test('ids in [vocabSize, padded vocabulary) are accepted (the padding rows)', () => {
    const t = tf.tensor2d([[12, 15]], [1, 2], 'int32');
    const y = model.predict(t) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 16]);
    tf.dispose([t, y]);
  });

  test('the MambaLM layer refuses fractional and NaN ids', () => {
    for (const [v, shown] of [[1.5, '1.5'], [NaN, 'NaN']] as Array<[number, string]>) {
      const t = tf.tensor2d([[2, v]], [1, 2], 'float32');
      expect(() => lm.apply(t)).toThrow(new RegExp(`MambaLM: expected integer token ids, got ${shown} at flat index 1 \\(dtype float32\\)`));
      t.dispose();
    }
  });

  test('a createMambaLM model declares int32 ids: tfjs casts float feeds first (1.5 -> 1, NaN -> 0; documented)', () => {
    const [float, asInt, nan, zero] = [[[2, 1.5]], [[2, 1]], [[2, NaN]], [[2, 0]]].map((v) => tf.tensor2d(v, [1, 2], 'float32'));
    const out = [float, asInt, nan, zero].map((t) => (model.predict(t) as tf.Tensor).dataSync());
    expect(Buffer.from(out[0].buffer).equals(Buffer.from(out[1].buffer))).toBe(true);
    expect(Buffer.from(out[2].buffer).equals(Buffer.from(out[3].buffer))).toBe(true);
    tf.dispose([float, asInt, nan, zero]);
  });

  test('generate refuses float and out-of-range prompt ids', async () => {
    await expect(generate(model, [[1, 2.5]], { maxNewTokens: 1 })).rejects.toThrow(/generate: expected token ids in \[0, 16\), got 2.5 at row 0, position 1/);
    await expect(generate(model, [[1, 99]], { maxNewTokens: 1 })).rejects.toThrow(/got 99 at row 0, position 1/);
    await expect(generate(model, [[]], { maxNewTokens: 1 })).rejects.toThrow(/at least one token/);
  });
});
