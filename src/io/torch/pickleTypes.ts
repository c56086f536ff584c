/**
 * The unpickler's vocabulary: allowlisted globals and their specs, the options of {@link unpickle} (./unpickle.ts),
 * the MARK sentinel and the opcode names used in its error messages.
 */
/** A resolved, allowlisted global: what `GLOBAL module name` pushes onto the stack. */
export class PickleGlobal {
  /**
   * @param module Python module, e.g. `collections`.
   * @param name Qualified name inside the module, e.g. `OrderedDict`.
   * @param call Pure handler invoked by `REDUCE`/`NEWOBJ` with the argument tuple.
   */
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call: ((args: readonly unknown[]) => unknown) | null,
  ) {}

  /** `module.name`, the key used in allowlists. */
  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** What an allowlisted global resolves to. */
export interface PickleGlobalSpec {
  /**
   * Handler for calling the global (`REDUCE`, `NEWOBJ`); omit for globals that are only used as
   * values (e.g. storage classes, dtypes), which then cannot be called.
   */
  call?: (args: readonly unknown[]) => unknown;
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Allowlist: `"module.name"` -> handler. Any other global raises an Error naming it. */
  globals: ReadonlyMap<string, PickleGlobalSpec>;
  /** Resolves a persistent id (`BINPERSID`); without it a persistent id raises an Error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Name of the pickle's origin (file, archive entry) for error messages. */
  source?: string;
  /**
   * Bounds on the work and memory a pickle may take (a pickle bomb: megabytes of MARK, EMPTY_DICT or DUP
   * opcodes). Every opcode creates at most one value, so `maxOps` bounds the values built; `maxStack` and
   * `maxMemo` bound the stack and memo. Exceeding one is an Error naming the bound. Defaults: {@link PICKLE_LIMITS}.
   */
  limits?: Partial<PickleLimits>;
}

/** Bounds of {@link UnpickleOptions.limits}. */
export interface PickleLimits {
  /** Opcodes executed. */
  maxOps: number;
  /** Values (and marks) on the stack at once. */
  maxStack: number;
  /** Memo entries. */
  maxMemo: number;
  /** What the bounds were derived from, for the error message (e.g. "a state dict of 12 storages"). */
  reason?: string;
}

/** Default bounds: far above any real state dict (a few hundred opcodes per tensor), far below a fatal OOM. */
export const PICKLE_LIMITS: PickleLimits = { maxOps: 10_000_000, maxStack: 1_000_000, maxMemo: 1_000_000 };

/** Marker pushed by `MARK`; never visible in results. */
export const MARK = Symbol('pickle MARK');

/** Protocol-2+ opcode names, for error messages. */
export const OPCODE_NAMES: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x7d: 'EMPTY_DICT', 0x5d: 'EMPTY_LIST', 0x29: 'EMPTY_TUPLE', 0x28: 'MARK',
  0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x4a: 'BININT', 0x4b: 'BININT1',
  0x4d: 'BININT2', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x47: 'BINFLOAT', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x4e: 'NONE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x73: 'SETITEM',
  0x75: 'SETITEMS', 0x61: 'APPEND', 0x65: 'APPENDS', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x68: 'BINGET',
  0x6a: 'LONG_BINGET', 0x94: 'MEMOIZE', 0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD',
  0x51: 'BINPERSID', 0x81: 'NEWOBJ', 0x2e: 'STOP', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8e: 'BINBYTES8', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
};
