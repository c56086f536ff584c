/**
 * The fused webgpu decoder (src/ops/kernels/webgpu/decoder.ts) in headless Chromium on SwiftShader: for seeded random
 * MambaLMs, each step's logits equal the cpu backend's step logits and the webgpu parallel forward's at that position
 * (5e-4: the prefill's state on Chromium's SwiftShader is that loose for both webgpu paths, see below), greedy tokens equal the tfjs-op
 * path's and the cpu backend's, and seeded samples equal the cpu backend's (the logits are checked on the rows
 * that are not left-padded: the parallel forward here takes no mask).
 */
import { openHarnessPage, PageSession } from './harness/session';
import { maxAbs } from '../helpers/close';
import type { DecodeRequest, DecodeResult } from './pages/decode';

type Page = { decodeChecks: { run(requestJson: string): Promise<string> } };

const CASES: [string, DecodeRequest][] = [
  ['batch 1', { config: { vocabSize: 61, dModel: 24, nLayers: 2, seed: 3 }, prompt: [[5, 9, 2, 44]], maxNewTokens: 6 }],
  ['batch 3, biases, N 4, ragged prompts', {
    config: { vocabSize: 37, dModel: 16, nLayers: 3, dState: 4, seed: 11, bias: true, convBias: true },
    prompt: [[1, 2, 3], [7], [30, 31, 4]], maxNewTokens: 5,
  }],
  // d 512: in_proj's matvec spreads 2 vec4 columns over each workgroup and unrolls its loop (ops/kernels/webgpu/colMatvec.ts).
  ['batch 2, d 512', { config: { vocabSize: 40, dModel: 512, nLayers: 1, seed: 4 }, prompt: [[1, 2, 3], [4, 5, 6]], maxNewTokens: 3 }],
];

describe('fused webgpu decoder in headless Chromium', () => {
  let s: PageSession;

  beforeAll(async () => {
    s = await openHarnessPage('decode');
  }, 90000);

  afterAll(async () => {
    await s?.close();
  });

  test.each(CASES)('%s: step logits = parallel forward (1e-4), greedy and seeded samples = the other paths', async (_name, q) => {
    let json: string;
    try {
      json = await s.page.evaluate((r) => (globalThis as unknown as Page).decodeChecks.run(r), JSON.stringify(q));
    } catch (e) {
      throw new Error(`decode.test.ts: the page failed: ${(e as Error).message}\nconsole:\n${s.console.join('\n')}`);
    }
    const r = JSON.parse(json) as DecodeResult;
    const [b, l, v] = r.forward.shape;
    const pl = Math.max(...q.prompt.map((p) => p.length));
    let worst = 0;
    const perStep: string[] = [];
    r.fused.scores.forEach((step, t) => {
      for (let i = 0; i < b; i++) {
        if (q.prompt[i].length !== pl) continue; // a left-padded row's forward would need its mask
        const at = ((i * l) + pl - 1 + t) * v;
        const ref = r.forward.data.slice(at, at + v);
        const ours = step.slice(i * v, (i + 1) * v);
        const e = maxAbs(ours.map((x, j) => x - ref[j])) / Math.max(1, maxAbs(ref));
        perStep.push(`${t}/${i}:${e.toExponential(1)}`);
        worst = Math.max(worst, e);
      }
    });
    // The cpu backend's step logits (every row, ragged ones too): an independent backend doing the same step.
    const vsCpu = (scores: number[][]) => Math.max(0, ...scores.map((step, t) => {
      const ref = r.cpu.scores[t];
      return maxAbs(step.map((x, j) => x - ref[j])) / Math.max(1, maxAbs(ref));
    }));
    const worstCpu = vsCpu(r.fused.scores);
    console.log(`${_name}: the tfjs-op webgpu path's step logits vs cpu: ${vsCpu(r.tfjs.scores).toExponential(2)}`);
    console.log(`${_name}: worst step-logit error vs cpu steps ${worstCpu.toExponential(2)}, vs the webgpu parallel forward ${worst.toExponential(2)} (${perStep.join(' ')}); console: ${s.console.filter((c) => !c.includes("previous error")).slice(0, 6).join(' | ')}`);
    expect(r.fused.scores.length).toBe(q.maxNewTokens);
    expect(r.cpu.scores.length).toBe(q.maxNewTokens);
    // From the first step on, both webgpu paths differ from cpu by the same amount (3e-5 at d 16, 2.3e-4 at d 512;
    // 1e-7 at the prefill's logits): the state both take from the webgpu prefill, on Chromium's SwiftShader (the
    // same d 512 case in Node's Dawn on SwiftShader: 1.8e-7). A wrong column or slice of a matvec is off by O(1).
    expect(worstCpu).toBeLessThanOrEqual(5e-4);
    expect(worst).toBeLessThanOrEqual(5e-4);
    expect(r.fused.greedy).toEqual(r.tfjs.greedy);
    expect(r.fused.greedy).toEqual(r.cpu.greedy);
    expect(r.fused.sampled).toEqual(r.cpu.sampled);
    expect(r.leaked).toBe(0);
  }, 120000);
});
