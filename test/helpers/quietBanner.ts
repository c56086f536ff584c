/**
 * Jest setup (jest.config.js setupFiles): makes the cpu backend active and spends tfjs's one-time "looks like you
 * are running TensorFlow.js in Node.js" notice silently, as selectBackend does, for the tests that never call
 * selectBackend. (The backend is made active first: with none active, tfjs's first op builds a new cpu backend
 * instance, banner included.)
 */
import * as tf from '@tensorflow/tfjs';
import { quietCpuBanner } from '../../src/cpuBanner';

quietCpuBanner();
void tf.setBackend('cpu'); // synchronous for an initialized cpu backend: the instance above becomes the active one
