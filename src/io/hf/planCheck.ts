/**
 * Checking sizes read from config.json or model.json against the weight files BEFORE anything is built or
 * allocated: a config may claim 2^24 layers or hidden_size 8192 over a file of a few kilobytes. First the
 * weight count is checked arithmetically (so a huge nLayers never becomes a huge list), then every name and
 * shape is matched against the file's own (already size-checked) tensors. Only then may a model be built.
 */
import type { MambaLMArgs } from '../../layers/mambaLM';
import { resolveMambaConfig } from '../../layers/config';
import { mambaLMWeightShapes } from './weightPlan';
import { matchKeys, type KeyedShapes, type WeightShape } from './keys';

/** Number of weights of `createMambaLM(args)`, computed without listing them. */
export function plannedWeightCount(args: MambaLMArgs): number {
  const c = resolveMambaConfig(args);
  const int8 = c.weightDtype === 'int8'; // + one `_scale` per quantized weight
  const perLayer = 8 + (c.bias ? 2 : 0) + (c.convBias ? 1 : 0) + (int8 ? 4 : 0);
  return 2 + c.nLayers * perLayer + (int8 ? 1 + (args.tieEmbeddings === false ? 1 : 0) : 0);
}

/**
 * The model's weight list, checked against `source` by count, name and shape.
 * @param where the config's file, for messages
 * @param storedShape as for matchKeys (torch layout by default)
 * @throws Error naming `where` when the config needs more weights than the files hold, or matchKeys' error
 */
export function checkPlanAgainst(
  args: MambaLMArgs,
  source: KeyedShapes,
  where: string,
  storedShape?: (name: string, ourShape: number[]) => number[],
): WeightShape[] {
  const planned = plannedWeightCount(args);
  const held = source.keys().length;
  if (planned > held) {
    const c = resolveMambaConfig(args);
    throw new Error(
      `${where}: the model it describes (${c.nLayers} layers, d_model ${c.dModel}) has ${planned} weights, ` +
        `but the weight files hold only ${held} tensors (a config for another checkpoint?)`,
    );
  }
  const plan = mambaLMWeightShapes(args);
  matchKeys(source, plan, storedShape);
  return plan;
}
