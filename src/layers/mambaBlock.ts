/**
 * MambaBlock, the mixer: in_proj → (x, z); x → causal depthwise conv → silu → selective scan; y · silu(z) →
 * out_proj.
 *
 * Shape letters: B batch, L length, D model width, ED = E·D inner channels, N state size, R Δ rank,
 * K conv width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { initializers, layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { MambaConfig, ResolvedMambaConfig, blockScanMode, configForSave, resolveMambaConfig } from './config';
import { SeedStream, aLogInit, constant, dtBiasInit, uniform, uniformFanIn } from './initializers';
import { INT8_SCALE_SUFFIX, int8Shape, project, type ProjectionWeights } from './int8';
import { silu } from '../ops/activations/silu';
import { causalConv } from '../ops/conv/causalConv';
import { softplus } from '../ops/activations/softplus';
import { negExp } from '../ops/activations/negExp';
import { rmsNormalize } from '../ops/norm/rms';
import { resolveScanMode, selectiveScan } from '../ops/scan/selectiveScan';
import { fusedSelectiveScanWithState } from '../ops/scan/fusedSelectiveScan';
import { checkLastDim } from './validate';
import { MambaBlockCache, checkBlockCache, emptyBlockCache } from './cache';
import { convStep, convTail } from '../ops/conv/convState';
import { finalScanState, selectiveStep } from '../ops/scan/selectiveStep';
import { matVecStep, mixerStepAvailable } from '../ops/kernels/mixerStep';
import { INT8_MATMUL_KERNEL, MIXER_STEP_KERNEL } from '../ops/kernels/names';
import { fusedStepEnabled } from '../flags';

/** Arguments of {@link MambaBlock}: mamba.py's MambaConfig fields (nLayers optional) plus tf.layers' own. */
export interface MambaBlockArgs extends NamedWeightsArgs, Omit<MambaConfig, 'nLayers'> {
  /** Unused by a single block; accepted so one config object fits every layer. */
  nLayers?: number;
}

/** The weights of one block, named as the checkpoint keys under `<prefix>` (`…mixer.`). */
export interface MambaBlockWeights {
  inProj: LayerVariable; // (D, 2·ED)
  inProjBias: LayerVariable | null; // (2·ED)
  conv: LayerVariable; // (K, ED)
  convBias: LayerVariable | null; // (ED)
  xProj: LayerVariable; // (ED, R+2N)
  dtProj: LayerVariable; // (R, ED)
  dtProjBias: LayerVariable; // (ED)
  aLog: LayerVariable; // (ED, N)
  d: LayerVariable; // (ED)
  outProj: LayerVariable; // (ED, D)
  outProjBias: LayerVariable | null; // (D)
}

/** The int8 scales (O) of the projections of an int8 block (config weightDtype 'int8'; layers/int8.ts). */
export interface MambaBlockScales {
  /** in_proj's (2·ED). */
  inProj: LayerVariable; // (2·ED)
  /** x_proj's (R+2N). */
  xProj: LayerVariable; // (R+2N)
  /** dt_proj's (ED). */
  dtProj: LayerVariable; // (ED)
  /** out_proj's (D). */
  outProj: LayerVariable; // (D)
}

/** The Mamba mixer as a tf.layers layer, (B, L, D) → (B, L, D): in_proj → causal conv → silu → selective scan → gate → out_proj. */
export class MambaBlock extends layers.Layer {
  /** Name under which tfjs serializes the layer. */
  static className = 'MambaBlock';
  /** The config with every default filled in. */
  readonly config: ResolvedMambaConfig;
  /** Prefix of this block's weight names (`…mixer.`). */
  readonly weightPrefix: string;
  /** The block's weights, named as the checkpoint keys. */
  readonly w: MambaBlockWeights;
  /** With weightDtype 'int8': the row scales, and w.inProj … w.outProj hold int8 words (O, RB/4) int32. */
  readonly scales: MambaBlockScales | null;

  constructor(args: MambaBlockArgs) {
    super(args);
    this.config = resolveMambaConfig({ ...args, nLayers: args.nLayers ?? 1 });
    this.weightPrefix = weightPrefixOf(args, this.name);
    const c = this.config;
    const p = this.weightPrefix;
    const seeds = new SeedStream(c.seed);
    const ed = c.dInner;
    const zeros = c.weightInit === 'zeros' ? constant(0) : null;
    const add = (name: string, shape: number[], init: ReturnType<typeof constant>) =>
      this.addWeight(`${p}${name}`, shape, 'float32', zeros ?? init);
    // Porting note: tfjs kernels are (in, out), the transpose of torch's (out, in); the conv is stored (K, ED)
    // rather than torch's (ED, 1, K). Conversion transposes; the names stay the checkpoint keys.
    const dtStd = c.dtScale / Math.sqrt(c.dtRank);
    const int8 = c.weightDtype === 'int8';
    // int8: words (O, RB/4) int32, each followed by its scales (O); not trainable, filled by quantize() or a load.
    const scales: Partial<MambaBlockScales> = {};
    const addQ = (key: keyof MambaBlockScales, name: string, i: number, o: number, init: ReturnType<typeof constant>) => {
      if (!int8) return add(name, [i, o], init);
      const q = this.addWeight(`${p}${name}`, int8Shape(o, i), 'int32', initializers.zeros(), undefined, false);
      scales[key] = this.addWeight(`${p}${name}${INT8_SCALE_SUFFIX}`, [o], 'float32', constant(1), undefined, false);
      return q;
    };
    this.w = {
      inProj: addQ('inProj', 'in_proj.weight', c.dModel, 2 * ed, uniformFanIn(c.dModel, seeds)),
      inProjBias: c.bias ? add('in_proj.bias', [2 * ed], uniformFanIn(c.dModel, seeds)) : null,
      conv: add('conv1d.weight', [c.dConv, ed], uniformFanIn(c.dConv, seeds)),
      convBias: c.convBias ? add('conv1d.bias', [ed], uniformFanIn(c.dConv, seeds)) : null,
      xProj: addQ('xProj', 'x_proj.weight', ed, c.dtRank + 2 * c.dState, uniformFanIn(ed, seeds)),
      dtProj: addQ('dtProj', 'dt_proj.weight', c.dtRank, ed, c.dtInit === 'constant' ? constant(dtStd) : uniform(dtStd, seeds)),
      dtProjBias: add('dt_proj.bias', [ed], dtBiasInit(c.dtMin, c.dtMax, c.dtInitFloor, seeds)),
      aLog: add('A_log', [ed, c.dState], aLogInit()),
      d: add('D', [ed], constant(1)),
      outProj: addQ('outProj', 'out_proj.weight', ed, c.dModel, uniformFanIn(ed, seeds)),
      outProjBias: c.bias ? add('out_proj.bias', [c.dModel], uniformFanIn(ed, seeds)) : null,
    };
    this.scales = int8 ? (scales as MambaBlockScales) : null;
  }

  /** A projection's weights (float kernel, or int8 words and scales). */
  private proj(which: keyof MambaBlockScales): ProjectionWeights {
    return { kernel: this.w[which], scale: this.scales ? this.scales[which] : null };
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /**
   * The projections before the scan, shared by the parallel forward and prefill (xin: the conv's input).
   * With a mask (B, L) of 1 (token) / 0 (padding), the conv's input and output are zeroed at padding, as HF
   * transformers' MambaMixer does with an attention mask: padding then leaves no trace in the state.
   */
  private projections(x: tf.Tensor, mask?: tf.Tensor): { xc: tf.Tensor; z: tf.Tensor; xin: tf.Tensor } {
    const c = this.config;
    const ed = c.dInner;
    const [b, l] = x.shape;
    const xz = project(x, this.proj('inProj'), this.w.inProjBias); // (B, L, 2·ED)
    const mask3 = mask ? tf.reshape(tf.cast(mask, 'float32'), [b, l, 1]) : null; // (B, L, 1)
    const xRaw = tf.slice(xz, [0, 0, 0], [b, l, ed]); // (B, L, ED)
    const xin = mask3 ? tf.mul(xRaw, mask3) : xRaw; // (B, L, ED)
    const z = tf.slice(xz, [0, 0, ed], [b, l, ed]); // (B, L, ED)
    const conv = silu(causalConv(xin, this.w.conv.read(), this.w.convBias?.read())); // (B, L, ED)
    const xc = mask3 ? tf.mul(conv, mask3) : conv; // (B, L, ED)
    return { xc, z, xin };
  }

  /**
   * Δ, B, C from the conv output: x_proj, split, (FalconMamba: RMS norms,) dt_proj with its bias, softplus; and A.
   * @param decoding true in `step`: A = −exp(A_log) through one MambaNegExp kernel (no gradient)
   */
  ssmParams(xc: tf.Tensor, decoding = false): { delta: tf.Tensor; bm: tf.Tensor; cm: tf.Tensor; a: tf.Tensor } {
    const c = this.config;
    const [b, l] = xc.shape;
    const dbc = project(xc, this.proj('xProj')); // (B, L, R+2N)
    // FalconMamba (bcdtNorm): Δ, B and C each through a weightless RMS norm.
    const norm = (t: tf.Tensor) => (c.bcdtNorm ? rmsNormalize(t, c.bcdtNormEps) : t);
    const dt = norm(tf.slice(dbc, [0, 0, 0], [b, l, c.dtRank])); // (B, L, R)
    const bm = norm(tf.slice(dbc, [0, 0, c.dtRank], [b, l, c.dState])); // (B, L, N)
    const cm = norm(tf.slice(dbc, [0, 0, c.dtRank + c.dState], [b, l, c.dState])); // (B, L, N)
    const delta = softplus(project(dt, this.proj('dtProj'), this.w.dtProjBias)); // (B, L, ED)
    const a = decoding ? negExp(this.w.aLog.read()) : tf.neg(tf.exp(this.w.aLog.read())); // (ED, N)
    return { delta, bm, cm, a };
  }

  /** Gate and project out: out_proj(y · silu(z)). */
  gateOut(y: tf.Tensor, z: tf.Tensor): tf.Tensor {
    return project(tf.mul(y, silu(z)), this.proj('outProj'), this.w.outProjBias); // (B, L, D)
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.config.dModel, 'MambaBlock');
    return tf.tidy(() => {
      const { xc, z } = this.projections(x); // (B, L, ED) each
      const { delta, bm, cm, a } = this.ssmParams(xc);
      const y = selectiveScan(xc, delta, a, bm, cm, this.w.d.read(), { mode: blockScanMode(this.config) }); // (B, L, ED)
      return this.gateOut(y, z); // (B, L, D)
    });
  }

  /** The cache before the first token: zeros, conv (B, K−1, ED) and ssm (B, ED, N). */
  emptyCache(batch: number): MambaBlockCache {
    return emptyBlockCache(batch, this.config);
  }

  /**
   * One decoding step (mamba.py's `step`): x (B, D) → y (B, D), and the cache moved on by one token.
   * Does not dispose `cache`; the caller disposes it (and, later, the returned one).
   */
  step(x: tf.Tensor, cache: MambaBlockCache): { y: tf.Tensor2D; cache: MambaBlockCache } {
    const c = this.config;
    if (x.rank !== 2 || x.shape[1] !== c.dModel) {
      throw new Error(`MambaBlock.step: expected x of shape (batch, ${c.dModel}), got [${x.shape}]`);
    }
    const [b] = x.shape;
    checkBlockCache(cache, b, c, 'MambaBlock.step');
    const ed = c.dInner;
    const n = c.dState;
    if (fusedStepEnabled() && !c.bcdtNorm && n % 4 === 0 && c.dConv > 1 && mixerStepAvailable()) return this.fusedStep(x, cache);
    return tf.tidy(() => {
      const xz = project(tf.reshape(x, [b, 1, c.dModel]), this.proj('inProj'), this.w.inProjBias); // (B, 1, 2·ED)
      const xin = tf.reshape(tf.slice(xz, [0, 0, 0], [b, 1, ed]), [b, ed]); // (B, ED)
      const z = tf.slice(xz, [0, 0, ed], [b, 1, ed]); // (B, 1, ED)
      const conv = convStep(cache.conv, xin, this.w.conv.read(), this.w.convBias?.read()); // (B, ED), (B, K−1, ED)
      const xc = silu(conv.out); // (B, ED)
      const { delta, bm, cm, a } = this.ssmParams(tf.reshape(xc, [b, 1, ed]), true); // (B, 1, ED), (B, 1, N) ×2, (ED, N)
      const ssm = selectiveStep(
        cache.ssm, xc, tf.reshape(delta, [b, ed]), a, tf.reshape(bm, [b, n]), tf.reshape(cm, [b, n]), this.w.d.read(),
      ); // y (B, ED), h (B, ED, N)
      const y = tf.reshape(this.gateOut(tf.reshape(ssm.y, [b, 1, ed]), z), [b, c.dModel]) as tf.Tensor2D; // (B, D)
      return { y, cache: { conv: conv.state, ssm: ssm.h } };
    });
  }

  /**
   * `step` through one MambaMixerStep kernel between in_proj and out_proj (wasm; src/ops/kernels/mixerStep.ts):
   * the same arithmetic as the unfused step, about twenty tfjs kernels fewer per layer.
   */
  private fusedStep(x: tf.Tensor, cache: MambaBlockCache): { y: tf.Tensor2D; cache: MambaBlockCache } {
    const s = this.scales;
    return tf.tidy(() => {
      // float32 in_proj / out_proj through MambaMatVecStep; int8 ones through MambaInt8MatMul (project).
      const proj = (v: tf.Tensor, which: 'inProj' | 'outProj', bias: LayerVariable | null) => (s
        ? tf.engine().runKernel(INT8_MATMUL_KERNEL, { x: v, q: this.w[which].read(), scale: s[which].read(), ...(bias ? { bias: bias.read() } : {}) } as never) as tf.Tensor
        : matVecStep(v, this.w[which].read(), bias?.read())); // (B, O)
      const xz = proj(x, 'inProj', this.w.inProjBias); // (B, 2·ED)
      const inputs: tf.NamedTensorMap = {
        xz, conv: cache.conv, convW: this.w.conv.read(), ...(this.w.convBias ? { convB: this.w.convBias.read() } : {}),
        xProj: this.w.xProj.read(), dtProj: this.w.dtProj.read(), dtBias: this.w.dtProjBias.read(),
        ...(s ? { xProjScale: s.xProj.read(), dtProjScale: s.dtProj.read() } : {}),
        aLog: this.w.aLog.read(), D: this.w.d.read(), h: cache.ssm,
      };
      const [g, conv, ssm] = tf.engine().runKernel(MIXER_STEP_KERNEL, inputs as never) as tf.Tensor[]; // (B, ED), (B, K−1, ED), (B, ED, N)
      const y = proj(g, 'outProj', this.w.outProjBias) as tf.Tensor2D; // (B, D)
      return { y, cache: { conv: conv as tf.Tensor3D, ssm: ssm as tf.Tensor3D } };
    });
  }

  /**
   * The parallel forward over a prompt, x (B, L, D) → y (B, L, D) (equal to `call`), and the cache after its
   * last token: the conv's last K−1 inputs and the scan's final state (on cpu/wasm from the same pass of the fused
   * scan, MambaSelectiveScanState; elsewhere from finalScanState's closed form).
   * @param mask (B, L) optional, 1 for tokens and 0 for padding (HF's attention mask; see `projections`)
   */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: MambaBlockCache } {
    checkLastDim(x, this.config.dModel, 'MambaBlock.prefill');
    const [b, l] = x.shape;
    if (mask && (mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== l)) {
      throw new Error(`MambaBlock.prefill: expected a mask of shape [${b},${l}], got [${mask.shape}]`);
    }
    return tf.tidy(() => {
      const { xc, z, xin } = this.projections(x, mask); // (B, L, ED) each
      const { delta, bm, cm, a } = this.ssmParams(xc);
      const mode = resolveScanMode(blockScanMode(this.config));
      // cpu/wasm: one pass gives y and the final state; elsewhere (and other modes) the state's closed form.
      const both = mode === 'fused' ? fusedSelectiveScanWithState(xc, delta, a, bm, cm, this.w.d.read()) : null;
      const y = both?.y ?? selectiveScan(xc, delta, a, bm, cm, this.w.d.read(), { mode }); // (B, L, ED)
      const conv = convTail(xin, this.config.dConv); // (B, K−1, ED)
      const ssm = both?.h ?? finalScanState(xc, delta, a, bm); // (B, ED, N)
      return { y: this.gateOut(y, z) as tf.Tensor3D, cache: { conv, ssm } }; // (B, L, D)
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...configForSave(this.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(MambaBlock);
