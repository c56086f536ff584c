/**
 * Memory layout helpers for the calls into the scan.wasm module (its own linear memory): a bump allocator of
 * 16-byte aligned regions, growth, and float32 views. Used by ./scan.ts, ./conv.ts and ./softplus.ts.
 */
/** Rounds up to a multiple of 16 (bytes) or of 4 (lanes). */
export const align16 = (v: number): number => Math.ceil(v / 16) * 16;
export const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Bump allocator of 16-byte aligned regions above the module's static data. */
export class Arena {
  /** Next free byte. */
  end: number;
  constructor(base: number) {
    this.end = align16(base);
  }
  /** Reserves `floats` float32 slots (or `bytes` raw bytes); returns the byte offset. */
  f32(floats: number): number {
    return this.bytes(floats * 4);
  }
  bytes(bytes: number): number {
    const p = this.end;
    this.end = align16(p + bytes);
    return p;
  }
}

/** Grows `memory` to hold `bytes`; false when it cannot (the caller falls back to JS). */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false;
  }
}

/** Float32 view of `count` floats at byte offset `ptr` of `buf`. */
export function view(buf: ArrayBuffer, ptr: number, count: number): Float32Array {
  return new Float32Array(buf, ptr, count);
}

