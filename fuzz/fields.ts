/**
 * Structure-aware mutation of integer fields (lengths, offsets, counts) whose positions a format scanner
 * found: each case picks one field and sets it to a boundary value (0, max, 2^31, the file size, 10 GiB, ...),
 * to its value ± 1, or to a random value.
 */
import { Rng } from '../src/tasks/rng';
import { Mutated, Mutator, interestingValues, readUint, writeUint } from './bytes';

/** An integer field of a binary format. */
export interface Field {
  /** Byte offset of the field in the file. */
  offset: number;
  width: 1 | 2 | 4 | 8;
  /** What the field is, for reports (e.g. "zip central 2: compressed size"). */
  name: string;
  /** Byte order (default little-endian). */
  bigEndian?: boolean;
}

/** Finds the fields of an input; may return none when the input is not recognized. */
export type FieldScanner = (input: Uint8Array) => Field[];

/** A new value for `field`: boundary values most of the time, else off by one or random. */
function newValue(input: Uint8Array, field: Field, rng: Rng): bigint {
  const max = (1n << BigInt(8 * field.width)) - 1n;
  const r = rng.next();
  if (r < 0.7) {
    const choices = interestingValues(field.width, input.length);
    return choices[rng.int(choices.length)];
  }
  if (r < 0.85) {
    const old = readUint(input, field.offset, field.width);
    const v = old + (rng.next() < 0.5 ? 1n : -1n);
    return v < 0n ? max : v > max ? 0n : v;
  }
  let v = 0n;
  for (let i = 0; i < field.width; i++) v = (v << 8n) | BigInt(rng.int(256));
  return v;
}

/** A mutator that overwrites one scanned field per case (falls back to `fallback` when none is found). */
export function fieldMutator(scan: FieldScanner, fallback: Mutator): Mutator {
  return (input: Uint8Array, rng: Rng): Mutated => {
    const fields = scan(input);
    if (fields.length === 0) return fallback(input, rng);
    const f = fields[rng.int(fields.length)];
    const value = newValue(input, f, rng);
    const out = input.slice();
    writeUint(out, f.offset, f.width, value, !f.bigEndian);
    return { bytes: out, what: `set ${f.name} (@${f.offset}, ${f.width} bytes) to ${value}` };
  };
}
