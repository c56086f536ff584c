/**
 * The float64 references of the browser kernel checks (./reference.ts), themselves checked: every gradient
 * against central finite differences of sum(output · upstream), in float64.
 */
import { convReference, relError, scanReference, siluGradReference } from './reference';
import { convCase, scanCase, siluCase } from './kernelCases';

/** Central difference of f with respect to each element of `arr` (modified in place, then restored). */
function numericGrad(arr: number[], f: () => number, h = 1e-6): Float64Array {
  return Float64Array.from(arr, (v, i) => {
    arr[i] = v + h;
    const up = f();
    arr[i] = v - h;
    const down = f();
    arr[i] = v;
    return (up - down) / (2 * h);
  });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

test('scanReference: the six gradients equal finite differences of sum(y · w)', () => {
  const c = scanCase([2, 6, 3, 4], { mode: 'chunked', chunk: 32, unroll: false }, 7);
  c.delta = c.delta.map((d) => d * 5); // larger steps, so that exp(Δ A) and the carries matter
  const ref = scanReference(c.dims, c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.w);
  const loss = () => dot(scanReference(c.dims, c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.w).y, c.w);
  const pairs: [string, number[], Float64Array][] = [
    ['dx', c.x, ref.dx], ['ddelta', c.delta, ref.ddelta], ['dA', c.A, ref.dA], ['dB', c.Bm, ref.dB], ['dC', c.Cm, ref.dC], ['dD', c.D, ref.dD],
  ];
  for (const [name, input, grad] of pairs) {
    const err = relError(grad, numericGrad(input, loss));
    if (!(err < 1e-7)) throw new Error(`reference.test.ts: scan ${name} relative error ${err} vs finite differences, expected < 1e-7`);
  }
});

test('convReference: dx, dweight, dbias equal finite differences of sum(y · dy)', () => {
  const c = convCase([2, 5, 3, 4], 8);
  const ref = convReference(c.dims, c.x, c.weight, c.bias, c.dy);
  const loss = () => dot(convReference(c.dims, c.x, c.weight, c.bias, c.dy).y, c.dy);
  for (const [name, input, grad] of [['dx', c.x, ref.dx], ['dweight', c.weight, ref.dweight], ['dbias', c.bias, ref.dbias]] as const) {
    const err = relError(grad, numericGrad(input, loss));
    if (!(err < 1e-7)) throw new Error(`reference.test.ts: conv ${name} relative error ${err} vs finite differences, expected < 1e-7`);
  }
  // Tap K−1 is the current step: with only the last tap set, y = bias + weight[K−1] · x.
  const w = new Array<number>(4 * 3).fill(0);
  w.fill(2, 9);
  const y = convReference(c.dims, c.x, w, [0, 0, 0], c.dy).y;
  expect(relError(y, c.x.map((v) => 2 * v))).toBe(0);
});

test('siluGradReference equals finite differences of x · sigmoid(x)', () => {
  const c = siluCase([50], 9);
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const fd = c.x.map((v, i) => c.dy[i] * (silu(v + 1e-6) - silu(v - 1e-6)) / 2e-6);
  expect(relError(siluGradReference(c.x, c.dy), fd)).toBeLessThan(1e-8);
});
