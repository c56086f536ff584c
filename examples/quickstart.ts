import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { mambaLayer, createMambaLM, lmLoss, loadCheckpoint, selectBackend } from 'mamba-tfjs';

async function main(): Promise<void> {
  // 0. A backend: --backend NAME (cpu, wasm, webgpu, tensorflow), else $MAMBA_TFJS_BACKEND, else wasm when installed.
  const flag = process.argv.indexOf('--backend');
  console.log('backend:', await selectBackend(flag > 0 ? process.argv[flag + 1] : undefined));

  // 1. A Mamba stack inside tf.sequential: (batch, length, 16) → (batch, length, 1).
  const model = tf.sequential();
  model.add(mambaLayer({ dModel: 16, nLayers: 2, inputShape: [null, 16] }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
  const x = tf.randomNormal([4, 32, 16]);
  const y = tf.randomNormal([4, 32, 1]);
  const history = await model.fit(x, y, { epochs: 3, verbose: 0 });
  console.log('sequential loss per epoch:', history.history.loss);

  // 2. A language model: token ids (batch, length) → logits (batch, length, vocab padded to a multiple of 8).
  const lm = createMambaLM({ vocabSize: 250, dModel: 32, nLayers: 2 });
  lm.compile({ optimizer: tf.train.adam(1e-3), loss: lmLoss });
  const ids = tf.randomUniform([2, 17], 0, 250, 'int32');
  const inputs = ids.slice([0, 0], [2, 16]);
  const targets = ids.slice([0, 1], [2, 16]).expandDims(-1); // next tokens, (batch, length, 1)
  await lm.fit(inputs, targets, { epochs: 2, verbose: 0 });
  const logits = lm.predict(inputs) as tf.Tensor;
  console.log('logits shape:', logits.shape);

  // 3. Save and load with plain @tensorflow/tfjs (mamba-tfjs registers a file:// handler).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'my-mamba-'));
  await lm.save(`file://${dir}`);
  console.log('saved to', dir);
  const again = await tf.loadLayersModel(`file://${dir}/model.json`);
  console.log('reloaded logits equal:', tf.equal(again.predict(inputs) as tf.Tensor, logits).all().dataSync()[0] === 1);

  // 4. A HuggingFace checkpoint directory (config.json + model.safetensors, e.g. state-spaces/mamba-130m-hf).
  if (process.env.MAMBA_CHECKPOINT) {
    const hf = await loadCheckpoint(process.env.MAMBA_CHECKPOINT);
    console.log('checkpoint parameters:', hf.countParams());
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
