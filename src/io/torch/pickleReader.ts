/**
 * The byte side of the unpickler (./unpickle.ts): bounds-checked reads of the opcode arguments (fixed-size
 * integers, length-prefixed bytes and strings, newline-terminated lines, LONG payloads) and errors that name the
 * source, the opcode and its offset.
 */
import { decodeLong, latin1 } from './pickleValues';

const UTF8 = new TextDecoder('utf-8');

/** Largest length a string/bytes opcode may announce before we even check the remaining bytes. */
const MAX_SAFE_LENGTH = Number.MAX_SAFE_INTEGER;

/** A cursor over the pickle bytes. */
export class PickleReader {
  protected readonly view: DataView;
  protected pos = 0;
  /** Offset and name of the opcode being executed, for error messages. */
  protected opStart = 0;
  protected opName = '';

  constructor(
    protected readonly data: Uint8Array,
    protected readonly source: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reserves `n` bytes and returns their start offset. */
  protected need(n: number): number {
    const remaining = this.data.length - this.pos;
    if (n > remaining) {
      throw this.error(`needed ${n} byte(s) at offset ${this.pos} but only ${remaining} remain (truncated pickle?)`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  protected u8(): number {
    return this.data[this.need(1)];
  }

  protected u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  protected u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(MAX_SAFE_LENGTH)) throw this.error(`64-bit length ${v} is too large`);
    return Number(v);
  }

  protected bytes(len: number): Uint8Array {
    const at = this.need(len);
    return this.data.subarray(at, at + len);
  }

  protected utf8(len: number): string {
    return UTF8.decode(this.bytes(len));
  }

  protected latin1(len: number): string {
    return latin1(this.bytes(len));
  }

  /** A newline-terminated ASCII line (for GLOBAL). */
  protected line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.error(`expected a newline-terminated name at offset ${this.pos}, found end of data (truncated pickle?)`);
    const text = latin1(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  /** Little-endian two's-complement integer of `len` bytes; a number when exact, else bigint. */
  protected long(len: number): number | bigint {
    return decodeLong(this.bytes(len));
  }

  /** An Error prefixed with the source, and (unless already said) the current opcode and offset. */
  protected error(message: string, withOpcode = true): Error {
    const where = withOpcode ? ` (opcode ${this.opName} at offset ${this.opStart})` : '';
    return new Error(`${this.source}: ${message}${where}`);
  }
}
