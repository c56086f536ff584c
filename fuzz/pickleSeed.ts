/**
 * A hand-made protocol-4 pickle that uses most opcodes our unpickler reads (frames, memo, sets, bytes, longs,
 * floats, STACK_GLOBAL, BUILD, ...), a second fuzzing seed beside torch's data.pkl (which uses few opcodes).
 */

/** Little-endian bytes of an unsigned integer. */
function le(value: number, width: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (let i = 0; i < width; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** SHORT_BINUNICODE of an ASCII string. */
function shortStr(s: string): number[] {
  return [0x8c, s.length, ...Buffer.from(s, 'latin1')];
}

/** The pickle's bytes. */
export function richPickle(): Uint8Array {
  const body: number[] = [
    0x7d, 0x94, // EMPTY_DICT, MEMOIZE (0)
    0x28, // MARK
    ...shortStr('float'), 0x47, ...[0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], // BINFLOAT pi (big-endian)
    ...shortStr('long'), 0x8a, 9, ...le(1, 8), 0x01, // LONG1 2^64 + 1
    ...shortStr('flags'), 0x88, 0x89, 0x4e, 0x87, // TUPLE3 (True, False, None)
    ...shortStr('set'), 0x8f, 0x28, 0x4b, 1, 0x4d, ...le(300, 2), 0x90, // EMPTY_SET, ADDITEMS {1, 300}
    ...shortStr('frozen'), 0x28, 0x4a, ...le(70000, 4), 0x91, // FROZENSET {70000}
    ...shortStr('bytes'), 0x43, 3, 1, 2, 3, // SHORT_BINBYTES
    ...shortStr('more'), 0x42, ...le(2, 4), 9, 9, // BINBYTES
    ...shortStr('list'), 0x5d, 0x71, 1, 0x28, 0x4b, 7, 0x58, ...le(2, 4), 0x68, 0x69, 0x65, // EMPTY_LIST, BINPUT 1, APPENDS
    ...shortStr('again'), 0x68, 1, // BINGET 1
    ...shortStr('far'), 0x29, 0x72, ...le(5, 4), 0x30, 0x6a, ...le(5, 4), // EMPTY_TUPLE, LONG_BINPUT 5, POP, LONG_BINGET 5
    ...shortStr('pair'), 0x4b, 1, 0x85, 0x4b, 2, 0x86, // TUPLE1 inside TUPLE2
    ...shortStr('str'), 0x55, 2, 0x6f, 0x6b, // SHORT_BINSTRING
    ...shortStr('od'), ...shortStr('collections'), ...shortStr('OrderedDict'), 0x93, 0x29, 0x52, // STACK_GLOBAL, REDUCE
    0x4e, 0x62, // BUILD None
    0x75, // SETITEMS
    ...shortStr('dup'), 0x4e, 0x32, 0x30, 0x73, // DUP, POP, SETITEM
    0x28, 0x4b, 0, 0x31, // MARK, POP_MARK
    0x2e, // STOP
  ];
  return Uint8Array.from([0x80, 4, 0x95, ...le(body.length, 8), ...body]);
}
