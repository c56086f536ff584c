/**
 * Random Mamba-1 -hf checkpoints for the conversion benchmarks (benchmarks/convert.js, benchmarks/bigInt8.js):
 * config.json + model.safetensors in torch layout, streamed with writeSafetensors one tensor at a time.
 * Runs over dist/ (`npm run build` first); loads no tfjs backend.
 */
const fs = require('fs');
const path = require('path');

const DIST = path.resolve(__dirname, '../dist');

/**
 * Writes a checkpoint of size (dModel, nLayers, vocab) (d_state 16, expand 2, d_conv 4, tied embeddings) into a new
 * directory `dir`. `weights(plan)` lists the tensors ({name, shape} in our layout) from dist/io/hf/weightPlan;
 * `fill(spec, data, next)` fills each tensor's float32 data, next() giving deterministic uniforms in [0, 1)
 * (one LCG stream over the whole checkpoint).
 */
async function writeRandomCheckpoint(dir, { dModel, nLayers, vocab, dtype }, weights, fill) {
  const { writeSafetensors } = require(path.join(DIST, 'io/safetensors'));
  const { torchShape } = require(path.join(DIST, 'io/hf/layout.js'));
  const config = {
    architectures: ['MambaForCausalLM'], model_type: 'mamba', hidden_size: dModel, num_hidden_layers: nLayers,
    vocab_size: vocab, state_size: 16, expand: 2, conv_kernel: 4, time_step_rank: Math.ceil(dModel / 16),
    use_bias: false, use_conv_bias: true, layer_norm_epsilon: 1e-5, tie_word_embeddings: true,
  };
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const specs = weights(require(path.join(DIST, 'io/hf/weightPlan.js'))).map((w) => ({ name: w.name, dtype, shape: torchShape(w.name, w.shape) }));
  let seed = 12345;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; // LCG: fast, deterministic
    return seed / 2 ** 32;
  };
  await writeSafetensors(path.join(dir, 'model.safetensors'), specs, (spec) => {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    fill(spec, data, next);
    return data;
  }, { format: 'pt' });
}

module.exports = { writeRandomCheckpoint };
