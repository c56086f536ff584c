/**
 * A training child process for the kill tests (bundled with esbuild by test/robustness/trainKill.test.ts):
 *   node trainChild.js <out> <steps> [resume]
 * A tiny selective-copying run saving every step, with the CLI's signal handling; prints "step N saved" lines.
 */
import '../../src/index';
import { runTrain } from '../../src/cli/train';

const [out, steps, resume] = process.argv.slice(2);
runTrain(
  {
    task: 'selective-copying', dModel: 16, nLayers: 1, dState: 4, seqLen: 8, nData: 2, vocab: 3, batch: 8, lr: 0.01,
    warmup: 0, minLrRatio: 1, evalEvery: 0, evalSize: 8, seed: 3, backend: 'cpu', saveEvery: 1, steps: Number(steps), out,
    resume: resume === 'resume',
  },
  { tty: false, log: (l) => console.log(l) },
).then(
  (r) => console.log(`finished at step ${r.step}${r.interrupted ? ' (interrupted)' : ''}`),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
