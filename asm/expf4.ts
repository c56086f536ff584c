/**
 * Vectorized exp over four float32 lanes (WebAssembly SIMD f32x4), AssemblyScript.
 *
 * Method, per lane:
 *   k = round(x / ln 2),  r = x - k ln 2  (Cody-Waite: ln 2 split into an exact
 *   9-bit head LN2_HI, so k * LN2_HI is exact for |k| < 2^15, and a tail LN2_LO),
 *   so r is in [-ln2/2, ln2/2] and exp(x) = 2^k * exp(r);
 *   exp(r) = 1 + r + r^2 * q(r), q a degree-4 polynomial fitted (iteratively
 *   reweighted least squares towards minimax) to (e^r - 1 - r) / r^2 on
 *   [-0.35, 0.35]: truncation error 3e-9 relative, below float32 rounding;
 *   k comes from the "shifter" trick: x / ln 2 + 1.5 * 2^23 rounds to an integer
 *   whose low mantissa bits are k, so 2^k's bits are those shifted into the
 *   exponent field plus the bits of 1.0 (no float-to-int conversion needed).
 *
 * Accuracy (checked against Math.exp in test/ops/fusedScanWasm.test.ts): relative
 * error <= 2e-7 wherever the result is a normal float32 (x >= -87.33).
 * Edge cases: exp(0) = 1 exactly (r = 0, k = 0); x < -87.33 (result would be
 * subnormal, < 1.2e-38) returns 0; x > 88.37 returns +Infinity; NaN stays NaN.
 *
 * Speed note: the constants live in a static table and are read with v128.load
 * (one memory operand each on x64); inline v128.const values are rebuilt on
 * every use by V8, which roughly doubles the cost of the loop.
 */

/** Lowest x with a normal float32 result: ln(2^-126). Below it the result is 0. */
const X_MIN: f32 = -87.33654;
/** Clamp bound on the high side: round(X_MAX / ln 2) = 128 gives the +Infinity bit pattern. */
const X_MAX: f32 = 88.8;
const LOG2E: f32 = 1.44269504;
/** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
const SHIFTER: f32 = 12582912.0;
/** ln 2 head: 355 / 512, exact in 9 bits. */
const LN2_HI: f32 = 0.693359375;
/** ln 2 tail: ln 2 - LN2_HI. */
const LN2_LO: f32 = -2.12194440e-4;
/** q(r) = Q0 + Q1 r + Q2 r^2 + Q3 r^3 + Q4 r^4, fitted to (e^r - 1 - r) / r^2. */
const Q0: f32 = 0.499999940;
const Q1: f32 = 0.166665152;
const Q2: f32 = 0.0416684560;
const Q3: f32 = 0.00836941320;
const Q4: f32 = 0.00138131692;

/** Each constant splatted to four lanes, 16 bytes apart, in the order of the offsets below. */
const TABLE: usize = memory.data<f32>([
  X_MIN, X_MIN, X_MIN, X_MIN,
  X_MAX, X_MAX, X_MAX, X_MAX,
  LOG2E, LOG2E, LOG2E, LOG2E,
  SHIFTER, SHIFTER, SHIFTER, SHIFTER,
  LN2_HI, LN2_HI, LN2_HI, LN2_HI,
  LN2_LO, LN2_LO, LN2_LO, LN2_LO,
  Q0, Q0, Q0, Q0,
  Q1, Q1, Q1, Q1,
  Q2, Q2, Q2, Q2,
  Q3, Q3, Q3, Q3,
  Q4, Q4, Q4, Q4,
  1.0, 1.0, 1.0, 1.0,
], 16);

/**
 * exp of each of the four float32 lanes of `x`.
 * @param x f32x4 arguments
 * @returns f32x4 exp(x), see the module comment for accuracy and edge cases
 */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function expf4(x: v128): v128 {
  const xMin = v128.load(TABLE, 0);
  const one = v128.load(TABLE, 176);
  // pmax/pmin (x < c ? c : x) map to single x64 instructions and keep a NaN x.
  const xc = f32x4.pmin(f32x4.pmax(x, xMin), v128.load(TABLE, 16));
  const shifted = f32x4.add(f32x4.mul(xc, v128.load(TABLE, 32)), v128.load(TABLE, 48)); // 1.5 2^23 + k
  const kf = f32x4.sub(shifted, v128.load(TABLE, 48)); // k, exactly
  let r = f32x4.sub(xc, f32x4.mul(kf, v128.load(TABLE, 64)));
  r = f32x4.sub(r, f32x4.mul(kf, v128.load(TABLE, 80))); // in [-ln2/2, ln2/2]
  let q = f32x4.add(f32x4.mul(v128.load(TABLE, 160), r), v128.load(TABLE, 144));
  q = f32x4.add(f32x4.mul(q, r), v128.load(TABLE, 128));
  q = f32x4.add(f32x4.mul(q, r), v128.load(TABLE, 112));
  q = f32x4.add(f32x4.mul(q, r), v128.load(TABLE, 96));
  const p = f32x4.add(one, f32x4.add(r, f32x4.mul(f32x4.mul(r, r), q))); // exp(r), in [0.7, 1.42]
  const scale = i32x4.add(i32x4.shl(shifted, 23), one); // bits of 2^k: (k + 127) << 23; k = 128 gives +Infinity
  return v128.andnot(f32x4.mul(p, scale), f32x4.lt(x, xMin)); // underflow to 0
}
