/**
 * `mamba-tfjs export-hf <tfjs-model-dir> <out-dir>`: a tfjs MambaLM model directory → a HuggingFace -hf
 * checkpoint (config.json + model.safetensors) for transformers' MambaForCausalLM.
 */
import { Command } from 'commander';
import { exportHf } from '../io/hf/exportHf';
import { withFlagNames } from './flagNames';

/** Adds the `export-hf` subcommand to `program`. */
export function registerExportHfCommand(program: Command): void {
  program
    .command('export-hf')
    .description('export a tfjs MambaLM model directory as a HuggingFace checkpoint (config.json + model.safetensors)')
    .argument('<tfjs-model-dir>', 'directory holding model.json and its weight files (from model.save or convert)')
    .argument('<out-dir>', 'new directory for config.json and model.safetensors')
    .option('--overwrite', 'replace <out-dir> if it exists and is not empty', false)
    .option('--quiet', 'print only the summary', false)
    .action(async (modelDir: string, outDir: string, opts: { overwrite: boolean; quiet: boolean }) => {
      const result = await withFlagNames(() => exportHf(modelDir, outDir, {
        overwrite: opts.overwrite,
        onProgress: opts.quiet || !process.stderr.isTTY ? undefined : (done, total, name) => process.stderr.write(`\r[${done}/${total}] ${name}\x1b[K`),
      }));
      if (!opts.quiet && process.stderr.isTTY) process.stderr.write('\n');
      console.log(`exported ${modelDir} → ${outDir}: config.json + model.safetensors (${result.tensors} F32 tensors)` +
        `${result.copied.length ? `, copied ${result.copied.join(', ')}` : ''}`);
    });
}
