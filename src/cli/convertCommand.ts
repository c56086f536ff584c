/**
 * `mamba-tfjs convert <checkpoint-dir> <out-dir> [--dtype float32|float16|int8]`: a Mamba checkpoint (-hf
 * safetensors or original pytorch_model.bin) → a tfjs LayersModel directory.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { convertCheckpoint, ConvertDtype } from '../io/hf/convert';
import { DEFAULT_SHARD_BYTES } from '../io/tfjs/shards';
import { withFlagNames } from './flagNames';

/** Parses a positive number of megabytes (MiB) into bytes. */
function parseMegabytes(value: string): number {
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0) throw new InvalidArgumentError(`expected a positive number of MiB, got "${value}"`);
  return Math.max(1, Math.floor(mb * 1024 * 1024));
}

/** Adds the `convert` subcommand to `program`. */
export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a Mamba checkpoint (config.json + model.safetensors / shards / pytorch_model.bin) into a tfjs model directory')
    .argument('<checkpoint-dir>', 'checkpoint directory (state-spaces/mamba-*-hf or state-spaces/mamba-*)')
    .argument('<out-dir>', 'new directory for model.json and its weight shards')
    .addOption(new Option('--dtype <dtype>', 'stored weight type (float16 halves the size, loads back as float32; int8 quarters the projections, embedding and head and keeps them int8 in memory: cpu and wasm)')
      .choices(['float32', 'float16', 'int8']).default('float32'))
    .addOption(new Option('--shard-size <mib>', 'largest weight shard in MiB').argParser(parseMegabytes).default(DEFAULT_SHARD_BYTES, '512'))
    .option('--overwrite', 'replace <out-dir> if it exists and is not empty', false)
    .option('--quiet', 'print only the summary', false)
    .action(async (checkpointDir: string, outDir: string, opts: { dtype: ConvertDtype; shardSize: number; overwrite: boolean; quiet: boolean }) => {
      const started = Date.now();
      const result = await withFlagNames(() => convertCheckpoint(checkpointDir, outDir, {
        dtype: opts.dtype,
        shardBytes: opts.shardSize,
        overwrite: opts.overwrite,
        onProgress: opts.quiet || !process.stderr.isTTY ? undefined : (done, total, name) => process.stderr.write(`\r[${done}/${total}] ${name}\x1b[K`),
      }));
      if (!opts.quiet && process.stderr.isTTY) process.stderr.write('\n');
      const mb = (result.weightBytes / 2 ** 20).toFixed(1);
      console.log(`converted ${checkpointDir} (${result.layout} layout) → ${outDir}: ${result.weights} weights, ${mb} MiB ${result.dtype} ` +
        `in ${result.shards.length} shard(s)${result.copied.length ? `, copied ${result.copied.join(', ')}` : ''} ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });
}
