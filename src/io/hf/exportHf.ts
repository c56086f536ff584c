/**
 * exportHf: a tfjs MambaLM model directory (saved by model.save or written by convert) → a HuggingFace
 * -hf checkpoint directory: config.json (MambaForCausalLM) + model.safetensors (F32, torch layout, keys
 * `backbone.embeddings.weight`, `backbone.layers.i.mixer.in_proj.weight`, …, `lm_head.weight` only when untied), which
 * transformers' `MambaForCausalLM.from_pretrained` loads. Tensors stream one at a time.
 */
import { promises as fsp } from 'fs';
import { dirname, join } from 'path';
import type { MambaLMArgs } from '../../layers/mambaLM';
import { TfjsWeights } from '../tfjs/weights';
import { mambaLMArgsFromTopology } from '../tfjs/topologyArgs';
import { checkPlanAgainst } from './planCheck';
import { matchKeys } from './keys';
import { toTorch, torchShape } from './layout';
import { hfConfigJson } from './exportConfig';
import type { Mamba2LMArgs } from '../../layers/mamba2/mamba2LM';
import { mamba2HfConfigJson, mamba2LMArgsFromTopology, mamba2LMWeightShapes } from './mamba2Plan';
import { SafetensorsTensorSpec, writeSafetensors } from '../safetensors';
import { checkOutputOutsideInput, writeDirectoryAtomically } from '../outputDir';
import { copyTokenizerFiles } from '../tokenizer/files';

/** Options of {@link exportHf}. */
export interface ExportHfOptions {
  /** Replace a non-empty existing output directory (default false: an error). */
  overwrite?: boolean;
  /** Called after each tensor is written. */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** What {@link exportHf} wrote. */
export interface ExportHfResult {
  /** The output directory (as given). */
  outDir: string;
  /** The MambaLM (or Mamba2LM) arguments found in model.json. */
  args: MambaLMArgs | Mamba2LMArgs;
  /** Tensors written to model.safetensors. */
  tensors: number;
  /** Tokenizer files copied. */
  copied: string[];
}

/**
 * Export the tfjs model in `modelDir` (a directory holding model.json, or the model.json path) to `outDir`.
 * @throws Error naming the file or key: no or several MambaLM layers, missing/unexpected weights, shape
 *   mismatches, unreadable weight files, an output directory that cannot be written. Nothing is left at
 *   `outDir` after a failure, and an existing `outDir` is unchanged.
 */
export async function exportHf(modelDir: string, outDir: string, options: ExportHfOptions = {}): Promise<ExportHfResult> {
  const weights = await TfjsWeights.open(modelDir);
  try {
    const topology = weights.modelJson.modelTopology;
    const mamba2 = mamba2LMArgsFromTopology(topology, weights.modelJsonPath); // null unless a Mamba2LM model
    const args = mamba2 ?? mambaLMArgsFromTopology(topology, weights.modelJsonPath);
    checkOutputOutsideInput(dirname(weights.modelJsonPath), outDir);
    const plan = mamba2
      ? mamba2LMWeightShapes(mamba2)
      : checkPlanAgainst(args as MambaLMArgs, weights, weights.modelJsonPath, (_name, shape) => shape); // sizes checked first
    const keys = matchKeys(weights, plan, (_name, shape) => shape); // both sides in tfjs layout
    const specs: SafetensorsTensorSpec[] = plan.map((w) => ({ name: w.name, dtype: 'F32', shape: torchShape(w.name, w.shape) }));
    let copied: string[] = [];
    await writeDirectoryAtomically(outDir, async (tmp) => {
      await fsp.writeFile(join(tmp, 'config.json'), mamba2 ? mamba2HfConfigJson(mamba2) : hfConfigJson(args as MambaLMArgs));
      await writeSafetensors(join(tmp, 'model.safetensors'), specs, async (_spec, i) => {
        const w = plan[i];
        const data = await weights.readFloat32(keys.get(w.name) as string); // tfjs layout
        options.onProgress?.(i + 1, plan.length, w.name);
        return toTorch(w.name, data, w.shape).data; // torch layout
      }, { format: 'pt' });
      copied = await copyTokenizerFiles(dirname(weights.modelJsonPath), tmp);
    }, { overwrite: options.overwrite });
    return { outDir, args, tensors: plan.length, copied };
  } finally {
    await weights.close();
  }
}
