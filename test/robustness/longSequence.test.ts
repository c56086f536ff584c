/**
 * Size: a forward pass of a Mamba stack at L = 16384 (dModel 64, B 1) on the cpu backend picks the fused scan
 * by itself and stays well within a few GiB. (benchmarks/longSequence.js measures every mode and backend.)
 */
import * as tf from '@tensorflow/tfjs';
import { mambaLayer, resolveScanMode } from '../../src';

const GiB = 2 ** 30;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('L = 16384, dModel 64, 1 layer: fused on cpu, finite output, RSS under 3 GiB', async () => {
  expect(resolveScanMode('auto')).toBe('fused');
  const peakBefore = process.resourceUsage().maxRSS * 1024; // this worker's peak so far (jest reuses workers)
  const layer = mambaLayer({ dModel: 64, nLayers: 1, seed: 1 });
  const x = tf.randomNormal([1, 16384, 64], 0, 1, 'float32', 1);
  const y = layer.apply(x) as tf.Tensor;
  const values = await y.data();
  expect(y.shape).toEqual([1, 16384, 64]);
  expect(values.every(Number.isFinite)).toBe(true);
  const rssNow = process.memoryUsage().rss;
  const peakAfter = process.resourceUsage().maxRSS * 1024;
  // If the worker's peak rose during this test, that peak is ours; otherwise ours was below the earlier one.
  const ours = Math.max(rssNow, peakAfter > peakBefore ? peakAfter : 0);
  expect(ours).toBeLessThan(3 * GiB);
  tf.dispose([x, y]);
  layer.dispose();
});
