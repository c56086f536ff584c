/**
 * A pretrained Mamba language model: convert a checkpoint to a tfjs model directory, load it with plain
 * tf.loadLayersModel, and continue a prompt with generate().
 *
 *   node examples/run.js pretrainedLLM [CHECKPOINT_DIR] [--prompt TEXT | --ids "1,2,3;4,5,6"]
 *     [--max-tokens 16] [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--dtype float32|float16]
 *     [--tokenizer tokenizer.json] [--out DIR] [--backend cpu|wasm|webgpu|tensorflow]
 *
 * CHECKPOINT_DIR (else $MAMBA_CHECKPOINT, else the project's test fixture test/fixtures/tiny-hf,
 * random weights) is a HuggingFace Mamba checkpoint: config.json + model.safetensors (state-spaces/mamba-*-hf)
 * or pytorch_model.bin (state-spaces/mamba-*). With a tokenizer.json beside it (or --tokenizer) the prompt is
 * text and the continuation is printed as text; without one, prompts and outputs are raw token ids.
 * --temperature 0 (the default) decodes greedily; --out keeps the converted model (else a temporary directory).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertCheckpoint, generate, selectBackend, type ConvertDtype } from '../src/node';
import { loadTokenizer, type MambaTokenizer } from '../src/io/tokenizer/tokenizer';
import { readFlags, type Flags } from './lib/flags';

/** The test fixture: a tiny random-weight Mamba in the -hf layout, in the project's test/fixtures. */
const FIXTURE = path.resolve(__dirname, '..', 'test', 'fixtures', 'tiny-hf');

/** Prompt ids from --ids: rows separated by ';', ids by ',' or spaces. */
function parseIds(text: string): number[][] {
  return text.split(';').map((row, i) => {
    const ids = row.split(/[\s,]+/).filter(Boolean).map(Number);
    if (ids.length === 0 || ids.some((id) => !Number.isInteger(id) || id < 0)) {
      throw new Error(`--ids: expected non-negative integers in row ${i}, got "${row.trim()}"`);
    }
    return ids;
  });
}

/** The tokenizer named by --tokenizer, else the one convert copied beside the model, else null. */
async function findTokenizer(flags: Flags, modelDir: string): Promise<MambaTokenizer | null> {
  const file = flags.opt('tokenizer') ?? path.join(modelDir, 'tokenizer.json');
  if (!flags.opt('tokenizer') && !fs.existsSync(file)) return null;
  return loadTokenizer(file);
}

/** The prompts as id rows: --ids, else --prompt through the tokenizer, else a default. */
function promptIds(flags: Flags, tokenizer: MambaTokenizer | null): number[][] {
  const ids = flags.opt('ids');
  if (ids !== undefined) return parseIds(ids);
  if (tokenizer) return [tokenizer.encode(flags.str('prompt', 'Mamba is a'))];
  if (flags.opt('prompt') !== undefined) throw new Error('--prompt needs a tokenizer.json (beside the checkpoint or --tokenizer); pass --ids instead');
  return [[1, 2, 3, 4, 5]];
}

async function main(): Promise<void> {
  const flags = readFlags(['prompt', 'ids', 'max-tokens', 'temperature', 'top-k', 'top-p', 'seed', 'dtype', 'tokenizer', 'out', 'backend']);
  const checkpoint = flags.positionals[0] ?? process.env.MAMBA_CHECKPOINT ?? FIXTURE;
  const backend = await selectBackend(flags.opt('backend'));
  const tmp = flags.opt('out') ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-example-'));
  const modelDir = flags.opt('out') ?? path.join(tmp as string, 'model');
  try {
    // 1. Convert: checkpoint (safetensors / pytorch_model.bin) → model.json + group1-shard*.bin.
    let started = Date.now();
    const converted = await convertCheckpoint(checkpoint, modelDir, { dtype: flags.str('dtype', 'float32') as ConvertDtype });
    console.log(`converted ${checkpoint} (${converted.layout} layout): ${converted.weights} weights, ` +
      `${(converted.weightBytes / 2 ** 20).toFixed(1)} MiB ${converted.dtype} in ${converted.shards.length} shard(s), ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s → ${modelDir}`);

    // 2. Load with plain tfjs: importing mamba-tfjs registered the layers and the file:// handler.
    started = Date.now();
    const model = await tf.loadLayersModel(`file://${path.resolve(modelDir, 'model.json')}`);
    console.log(`loaded with tf.loadLayersModel on ${backend}: ${model.countParams()} parameters, ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 3. Generate.
    const tokenizer = await findTokenizer(flags, modelDir);
    const prompts = promptIds(flags, tokenizer);
    const temperature = flags.num('temperature', 0);
    started = Date.now();
    const { sequences } = await generate(model, prompts, {
      maxNewTokens: flags.num('max-tokens', 16),
      temperature,
      topK: flags.opt('top-k') ? flags.num('top-k', 0) : undefined,
      topP: flags.opt('top-p') ? flags.num('top-p', 1) : undefined,
      seed: flags.opt('seed') ? flags.num('seed', 0) : undefined,
      stopTokens: tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : [],
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`${temperature === 0 ? 'greedy' : `sampled (temperature ${temperature})`}, ${seconds.toFixed(2)} s` +
      (tokenizer ? '' : ' (no tokenizer.json: raw token ids)'));
    sequences.forEach((seq, i) => {
      console.log(`sequence ${i}: ${seq.join(' ')}`);
      if (tokenizer) console.log(`text ${i}: ${JSON.stringify(tokenizer.decode(seq))}`);
    });
    model.dispose();
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
