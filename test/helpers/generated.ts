/**
 * Comparing generate() against a fixture's reference: HF's generate.sequences (B, L) and generate.scores
 * (B, steps, V), as stored in reference.safetensors.
 */
import { expectAllClose } from './close';

/** The rows of a (B, L) int32 array as number[][]. */
export function rows(d: Int32Array, [b, l]: number[]): number[][] {
  return Array.from({ length: b }, (_, i) => Array.from(d.subarray(i * l, (i + 1) * l)));
}

/**
 * Every step's scores of every row within `tol` of the reference.
 * @param ours generate()'s `scores`: one (B·V) array per step
 * @param ref the reference scores, (B, steps, V) row-major
 */
export function expectScoresClose(ours: Float32Array[], ref: { data: Float32Array; shape: number[] }, tol: number, what: string): void {
  const [b, steps, v] = ref.shape;
  expect(ours).toHaveLength(steps);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < b; i++) {
      const want = ref.data.subarray((i * steps + t) * v, (i * steps + t + 1) * v);
      expectAllClose(ours[t].subarray(i * v, (i + 1) * v), want, tol, `${what} scores row ${i} step ${t}`);
    }
  }
}
