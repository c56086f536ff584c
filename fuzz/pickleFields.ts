/**
 * Pickle structure for the fuzzer: walks a pickle's opcodes (the protocol 2-5 subset that torch.save writes
 * and our unpickler reads), reporting each opcode's position and the integer fields in its argument
 * (string/bytes lengths, int values, memo indices, frame lengths), and mutators that replace, insert or
 * delete whole opcodes.
 */
import { Rng } from '../src/tasks/rng';
import { Mutated, Mutator, readUint } from './bytes';
import { Field } from './fields';

/** One opcode of a pickle: where it starts and how many bytes it spans (opcode byte included). */
export interface PickleOp {
  at: number;
  op: number;
  length: number;
}

/** Opcodes without an argument. */
const NO_ARG = new Set([
  0x7d, 0x5d, 0x29, 0x8f, 0x28, 0x88, 0x89, 0x4e, 0x74, 0x85, 0x86, 0x87, 0x91, 0x73, 0x75, 0x61, 0x65,
  0x90, 0x30, 0x31, 0x32, 0x94, 0x93, 0x52, 0x81, 0x62, 0x51, 0x2e,
]);
/** Opcodes with a fixed-size integer argument: opcode → [width, field name]. */
const FIXED: ReadonlyMap<number, [1 | 2 | 4 | 8, string]> = new Map<number, [1 | 2 | 4 | 8, string]>([
  [0x80, [1, 'PROTO version']], [0x95, [8, 'FRAME length']], [0x4a, [4, 'BININT value']], [0x4b, [1, 'BININT1 value']],
  [0x4d, [2, 'BININT2 value']], [0x47, [8, 'BINFLOAT bits']], [0x71, [1, 'BINPUT index']], [0x72, [4, 'LONG_BINPUT index']],
  [0x68, [1, 'BINGET index']], [0x6a, [4, 'LONG_BINGET index']],
]);
/** Opcodes with a length prefix followed by that many bytes: opcode → [width of the length, name]. */
const SIZED: ReadonlyMap<number, [1 | 4 | 8, string]> = new Map<number, [1 | 4 | 8, string]>([
  [0x58, [4, 'BINUNICODE length']], [0x8c, [1, 'SHORT_BINUNICODE length']], [0x8d, [8, 'BINUNICODE8 length']],
  [0x54, [4, 'BINSTRING length']], [0x55, [1, 'SHORT_BINSTRING length']], [0x42, [4, 'BINBYTES length']],
  [0x43, [1, 'SHORT_BINBYTES length']], [0x8e, [8, 'BINBYTES8 length']], [0x8a, [1, 'LONG1 length']],
  [0x8b, [4, 'LONG4 length']],
]);

/** Every opcode byte the walker knows, for replacement and insertion. */
export const PICKLE_OPCODES: readonly number[] = [...NO_ARG, ...FIXED.keys(), ...SIZED.keys(), 0x63];

/**
 * Walks the opcodes of `bytes[start, end)` until STOP, an unknown opcode or the end; also returns the fields.
 * Offsets are absolute (in `bytes`).
 */
export function walkPickle(bytes: Uint8Array, start = 0, end = bytes.length): { ops: PickleOp[]; fields: Field[] } {
  const ops: PickleOp[] = [];
  const fields: Field[] = [];
  let at = start;
  while (at < end) {
    const op = bytes[at];
    let length: number;
    if (NO_ARG.has(op)) {
      length = 1;
    } else if (FIXED.has(op)) {
      const [width, name] = FIXED.get(op)!;
      fields.push({ offset: at + 1, width, name: `pickle ${name}`, bigEndian: op === 0x47 });
      length = 1 + width;
    } else if (SIZED.has(op)) {
      const [width, name] = SIZED.get(op)!;
      fields.push({ offset: at + 1, width, name: `pickle ${name}` });
      const n = readUint(bytes, at + 1, width);
      if (n > BigInt(end - at)) break;
      length = 1 + width + Number(n);
    } else if (op === 0x63) { // GLOBAL: two lines
      const first = bytes.indexOf(0x0a, at + 1);
      const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1);
      if (second < 0 || second >= end) break;
      length = second + 1 - at;
    } else {
      break;
    }
    if (at + length > end) break;
    ops.push({ at, op, length });
    if (op === 0x2e) break;
    at += length;
  }
  return { ops, fields };
}

/** Where the pickle lies inside a file (the whole file for a bare pickle). */
export type PickleLocator = (input: Uint8Array) => { start: number; end: number } | null;

/** The whole input is a pickle. */
export const wholeInput: PickleLocator = (input) => ({ start: 0, end: input.length });

function splice(input: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(input.length - remove + insert.length);
  out.set(input.subarray(0, at), 0);
  out.set(insert, at);
  out.set(input.subarray(at + remove), at + insert.length);
  return out;
}

/**
 * Opcode-level mutations: replace an opcode byte, delete an opcode with its argument, insert an argument-less
 * opcode, or duplicate an opcode. Changing the pickle's length inside a zip leaves the zip's sizes stale,
 * so inside archives only the length-preserving replacement is used.
 */
export function pickleOpMutator(locate: PickleLocator, fallback: Mutator, sameLength = false): Mutator {
  return (input: Uint8Array, rng: Rng): Mutated => {
    const where = locate(input);
    const ops = where ? walkPickle(input, where.start, where.end).ops : [];
    if (ops.length === 0) return fallback(input, rng);
    const target = ops[rng.int(ops.length)];
    const r = sameLength ? 0 : rng.next();
    if (r < 0.4) {
      const out = input.slice();
      out[target.at] = PICKLE_OPCODES[rng.int(PICKLE_OPCODES.length)];
      return { bytes: out, what: `pickle: opcode 0x${target.op.toString(16)} at ${target.at} -> 0x${out[target.at].toString(16)}` };
    }
    if (r < 0.6) {
      return { bytes: splice(input, target.at, target.length, []), what: `pickle: delete opcode 0x${target.op.toString(16)} at ${target.at}` };
    }
    if (r < 0.85) {
      const noArg = [...NO_ARG];
      const op = noArg[rng.int(noArg.length)];
      return { bytes: splice(input, target.at, 0, [op]), what: `pickle: insert opcode 0x${op.toString(16)} at ${target.at}` };
    }
    const copy = input.slice(target.at, target.at + target.length);
    const times = rng.range(1, 64);
    const rep = new Uint8Array(copy.length * times);
    for (let i = 0; i < times; i++) rep.set(copy, i * copy.length);
    return { bytes: splice(input, target.at, 0, rep), what: `pickle: repeat opcode 0x${target.op.toString(16)} at ${target.at} x${times}` };
  };
}

/** The integer fields of the pickle located in the input. */
export function pickleFieldScanner(locate: PickleLocator): (input: Uint8Array) => Field[] {
  return (input) => {
    const where = locate(input);
    return where ? walkPickle(input, where.start, where.end).fields : [];
  };
}
