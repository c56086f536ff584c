/** The demo page: backend picker, live Selective Copying training, and text generation from a URL. */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { selectBackend } from '../src/backend';
import { registerKernels } from '../src/ops/kernels/register';
import { startTraining, Trainer } from './train';
import { loadAndGenerate } from './generateText';

registerKernels();
setWasmPaths(new URL('wasm/', location.href).href);

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
let trainer: Trainer | null = null;

async function useBackend(): Promise<void> {
  const name = $<HTMLSelectElement>('backend').value;
  try {
    await selectBackend(name);
  } catch (e) {
    $('running').textContent = `${name} failed (${(e as Error).message}); on ${tf.getBackend()}`;
    return;
  }
  $('running').textContent = tf.getBackend();
}

function train(): void {
  trainer?.stop();
  trainer = startTraining($<HTMLCanvasElement>('chart'), (p, ms) => {
    $('trainStat').textContent = `step ${p.step}  loss ${p.loss.toFixed(3)}  accuracy ${(100 * p.accuracy).toFixed(0)}%  ${ms.toFixed(0)} ms/step on ${tf.getBackend()}`;
  });
}

async function gen(): Promise<void> {
  const out = $('out');
  out.textContent = '';
  try {
    await loadAndGenerate({
      modelUrl: $<HTMLInputElement>('modelUrl').value,
      tokenizerUrl: $<HTMLInputElement>('tokUrl').value,
      prompt: $<HTMLInputElement>('prompt').value,
      maxNewTokens: Number($<HTMLInputElement>('maxNew').value),
      cache: $<HTMLInputElement>('cache').checked,
    }, (piece) => { out.textContent += piece; }, (line) => { $('genStat').textContent = `${line} on ${tf.getBackend()}`; });
  } catch (e) {
    $('genStat').textContent = `failed: ${(e as Error).message}`;
  }
  Object.assign(globalThis, { demoGenerated: true });
}

$('backend').addEventListener('change', () => void useBackend());
$('train').addEventListener('click', train);
$('stop').addEventListener('click', () => trainer?.stop());
$('generate').addEventListener('click', () => void gen());
void useBackend().then(() => Object.assign(globalThis, { demoReady: true }));
