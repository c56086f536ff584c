/**
 * A safe reader for Python pickles (protocols 0-5 binary opcodes, as written by `torch.save`).
 *
 * Nothing is executed: a `GLOBAL`/`STACK_GLOBAL` opcode only resolves names found in the
 * caller's allowlist, and `REDUCE`/`NEWOBJ` only call the pure JavaScript handlers registered for
 * those names. Persistent ids (`BINPERSID`) go to the caller's `persistentLoad`. Every read is
 * bounds-checked, so a truncated or malformed pickle raises an Error naming the opcode and offset.
 *
 * Value mapping: `dict` -> `Map`, `list` -> array, `tuple` -> frozen array, `str` -> string,
 * `bytes` -> Uint8Array, `int` -> number (bigint when beyond 2^53), `float` -> number,
 * `None` -> null, `bool` -> boolean, `set`/`frozenset` -> `Set`.
 */
import { messageOf, describe } from './pickleValues';
import { PickleReader } from './pickleReader';
import { PickleGlobal, UnpickleOptions, MARK, OPCODE_NAMES, PICKLE_LIMITS, PickleLimits } from './pickleTypes';

export { PickleGlobal } from './pickleTypes';
export type { PickleGlobalSpec, UnpickleOptions, PickleLimits } from './pickleTypes';
export { describePickleValue } from './pickleValues';

/**
 * Parses a pickle without executing anything.
 *
 * @param data The pickle bytes (e.g. a torch archive's `data.pkl`).
 * @param options Allowlisted globals, persistent-id resolver, and a source name for errors.
 * @returns The unpickled top-level value.
 * @throws Error on a disallowed global, an unknown opcode (naming byte and offset), truncation,
 *   or a structurally invalid pickle (e.g. `SETITEMS` on a non-dict).
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions): unknown {
  return new Unpickler(data, options).run();
}

/** The pickle virtual machine: a stack, a mark stack and a memo. */
class Unpickler extends PickleReader {
  private readonly stack: unknown[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly limits: PickleLimits;

  constructor(
    data: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    super(data, options.source ?? 'pickle');
    this.limits = { ...PICKLE_LIMITS, ...options.limits };
  }

  /** An Error saying which bound a pickle bomb (or a corrupt pickle) crossed. */
  private overLimit(what: string, bound: number): Error {
    const why = this.limits.reason ? ` for ${this.limits.reason}` : '';
    return this.error(`pickle exceeds ${bound} ${what}, the most allowed${why} (a pickle bomb or a corrupt file?)`);
  }

  /** Executes opcodes until `STOP`. */
  run(): unknown {
    const { maxOps, maxStack, maxMemo } = this.limits;
    for (let ops = 0; ; ops++) {
      if (ops >= maxOps) throw this.overLimit('opcodes', maxOps);
      if (this.stack.length > maxStack) throw this.overLimit('values on the stack', maxStack);
      if (this.memo.size > maxMemo) throw this.overLimit('memo entries', maxMemo);
      if (this.pos >= this.data.length) {
        throw this.error(`pickle ended at offset ${this.pos} without a STOP opcode (truncated?)`, false);
      }
      this.opStart = this.pos;
      const op = this.data[this.pos++];
      this.opName = OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
      if (op === 0x2e) {
        if (this.stack.length === 0) throw this.error('STOP with an empty stack (expected the result on top)');
        return this.checkValue(this.stack.pop());
      }
      this.step(op);
    }
  }

  /** Executes one opcode (other than STOP). */
  private step(op: number): void {
    const s = this.stack;
    switch (op) {
      case 0x80: { // PROTO
        const proto = this.u8();
        if (proto > 5) throw this.error(`unsupported pickle protocol ${proto} (expected 0..5)`);
        return;
      }
      case 0x95: { // FRAME: framing only; the frame's opcodes follow inline
        const len = this.u64();
        if (len > this.data.length - this.pos) {
          throw this.error(`frame of ${len} bytes but only ${this.data.length - this.pos} remain (truncated?)`);
        }
        return;
      }
      case 0x7d: s.push(new Map()); return; // EMPTY_DICT
      case 0x5d: s.push([]); return; // EMPTY_LIST
      case 0x29: s.push(Object.freeze([])); return; // EMPTY_TUPLE
      case 0x8f: s.push(new Set()); return; // EMPTY_SET
      case 0x28: s.push(MARK); return; // MARK
      case 0x58: s.push(this.utf8(this.u32())); return; // BINUNICODE
      case 0x8c: s.push(this.utf8(this.u8())); return; // SHORT_BINUNICODE
      case 0x8d: s.push(this.utf8(this.u64())); return; // BINUNICODE8
      case 0x54: { // BINSTRING (py2 str, signed length)
        const len = this.view.getInt32(this.need(4), true);
        if (len < 0) throw this.error(`negative string length ${len}`);
        s.push(this.latin1(len));
        return;
      }
      case 0x55: s.push(this.latin1(this.u8())); return; // SHORT_BINSTRING
      case 0x42: s.push(this.bytes(this.u32()).slice()); return; // BINBYTES
      case 0x43: s.push(this.bytes(this.u8()).slice()); return; // SHORT_BINBYTES
      case 0x8e: s.push(this.bytes(this.u64()).slice()); return; // BINBYTES8
      case 0x4a: s.push(this.view.getInt32(this.need(4), true)); return; // BININT
      case 0x4b: s.push(this.u8()); return; // BININT1
      case 0x4d: s.push(this.view.getUint16(this.need(2), true)); return; // BININT2
      case 0x8a: s.push(this.long(this.u8())); return; // LONG1
      case 0x8b: { // LONG4
        const len = this.view.getInt32(this.need(4), true);
        if (len < 0) throw this.error(`negative long length ${len}`);
        s.push(this.long(len));
        return;
      }
      case 0x47: s.push(this.view.getFloat64(this.need(8), false)); return; // BINFLOAT (big-endian)
      case 0x88: s.push(true); return; // NEWTRUE
      case 0x89: s.push(false); return; // NEWFALSE
      case 0x4e: s.push(null); return; // NONE
      case 0x74: s.push(Object.freeze(this.popToMark())); return; // TUPLE
      case 0x85: s.push(Object.freeze(this.popN(1))); return; // TUPLE1
      case 0x86: s.push(Object.freeze(this.popN(2))); return; // TUPLE2
      case 0x87: s.push(Object.freeze(this.popN(3))); return; // TUPLE3
      case 0x91: s.push(new Set(this.popToMark())); return; // FROZENSET
      case 0x73: { // SETITEM
        const [key, value] = this.popN(2);
        this.setItems(this.top('a dict'), [key, value]);
        return;
      }
      case 0x75: { // SETITEMS
        const items = this.popToMark();
        this.setItems(this.top('a dict'), items);
        return;
      }
      case 0x61: { // APPEND
        const [value] = this.popN(1);
        this.list(this.top('a list')).push(value);
        return;
      }
      case 0x65: { // APPENDS
        const items = this.popToMark();
        const list = this.list(this.top('a list'));
        for (const item of items) list.push(item);
        return;
      }
      case 0x90: { // ADDITEMS
        const items = this.popToMark();
        const set = this.top('a set');
        if (!(set instanceof Set)) throw this.error(`expected a set below the mark, got ${describe(set)}`);
        for (const item of items) set.add(item);
        return;
      }
      case 0x30: this.popN(1); return; // POP
      case 0x31: this.popToMark(); return; // POP_MARK
      case 0x32: s.push(this.top('a value to duplicate')); return; // DUP
      case 0x71: this.memo.set(this.u8(), this.top('a value to memoize')); return; // BINPUT
      case 0x72: this.memo.set(this.u32(), this.top('a value to memoize')); return; // LONG_BINPUT
      case 0x94: this.memo.set(this.memo.size, this.top('a value to memoize')); return; // MEMOIZE
      case 0x68: s.push(this.memoGet(this.u8())); return; // BINGET
      case 0x6a: s.push(this.memoGet(this.u32())); return; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = this.line();
        const name = this.line();
        s.push(this.resolveGlobal(module, name));
        return;
      }
      case 0x93: { // STACK_GLOBAL
        const [module, name] = this.popN(2);
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw this.error(`expected two strings (module, name), got ${describe(module)} and ${describe(name)}`);
        }
        s.push(this.resolveGlobal(module, name));
        return;
      }
      case 0x52: { // REDUCE
        const [callable, args] = this.popN(2);
        s.push(this.callGlobal(callable, args));
        return;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), treated as a call of the allowlisted handler
        const [cls, args] = this.popN(2);
        s.push(this.callGlobal(cls, args));
        return;
      }
      case 0x62: { // BUILD
        const [state] = this.popN(1);
        this.build(this.top('an object to BUILD'), state);
        return;
      }
      case 0x51: { // BINPERSID
        const [pid] = this.popN(1);
        if (!this.options.persistentLoad) {
          throw this.error(`persistent id ${describe(pid)} found but no persistentLoad resolver was given`);
        }
        try {
          s.push(this.options.persistentLoad(pid));
        } catch (e) {
          throw this.error(`persistent id ${describe(pid)} could not be loaded: ${messageOf(e)}`);
        }
        return;
      }
      default:
        throw this.error(
          `unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}` +
            (op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : '') +
            ` at offset ${this.opStart}`,
          false,
        );
    }
  }

  /** Looks `module.name` up in the allowlist. */
  private resolveGlobal(module: string, name: string): PickleGlobal {
    const full = `${module}.${name}`;
    const spec = this.options.globals.get(full);
    if (!spec) {
      const allowed = [...this.options.globals.keys()].join(', ');
      throw this.error(`pickle global "${full}" is not allowed (allowed: ${allowed})`);
    }
    return new PickleGlobal(module, name, spec.call ?? null);
  }

  /** `REDUCE`/`NEWOBJ`: calls an allowlisted handler with a tuple of arguments. */
  private callGlobal(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PickleGlobal)) {
      throw this.error(`expected an allowlisted global to call, got ${describe(callable)}`);
    }
    if (!Array.isArray(args)) {
      throw this.error(`expected an argument tuple for ${callable.fullName}, got ${describe(args)}`);
    }
    if (!callable.call) throw this.error(`global ${callable.fullName} is allowed as a value but cannot be called`);
    try {
      return callable.call(args);
    } catch (e) {
      throw this.error(`${callable.fullName}(...) failed: ${messageOf(e)}`);
    }
  }

  /**
   * `BUILD` (`obj.__setstate__(state)`): only dicts accept it. Instance attributes of dict
   * subclasses (such as `OrderedDict._metadata` in torch state dicts) are dropped; a
   * `(dict_state, slots)` pair whose dict part is a dict likewise.
   */
  private build(target: unknown, state: unknown): void {
    if (!(target instanceof Map)) throw this.error(`BUILD is only supported on dicts, got ${describe(target)}`);
    const ok = state === null || state instanceof Map ||
      (Array.isArray(state) && state.length === 2 && state.every((x) => x === null || x instanceof Map));
    if (!ok) throw this.error(`BUILD state of a dict must be a dict or None, got ${describe(state)}`);
  }

  /** `SETITEM(S)`: pairs of key, value into a dict. */
  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) throw this.error(`expected a dict to set items on, got ${describe(target)}`);
    if (items.length % 2 !== 0) throw this.error(`expected key/value pairs, got ${items.length} items`);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  /** Asserts a list (mutable array) target for `APPEND(S)`. */
  private list(target: unknown): unknown[] {
    if (!Array.isArray(target) || Object.isFrozen(target)) {
      throw this.error(`expected a list to append to, got ${describe(target)}`);
    }
    return target;
  }

  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) throw this.error(`memo index ${index} was never stored`);
    return this.memo.get(index);
  }

  /** The top of the stack without popping; never the MARK marker. */
  private top(what: string): unknown {
    if (this.stack.length === 0) throw this.error(`expected ${what} on the stack, found it empty`);
    return this.checkValue(this.stack[this.stack.length - 1]);
  }

  /** Pops `n` values (in push order), refusing to cross a mark. */
  private popN(n: number): unknown[] {
    if (this.stack.length < n) throw this.error(`expected ${n} value(s) on the stack, found ${this.stack.length}`);
    const items = this.stack.splice(this.stack.length - n, n);
    for (const item of items) this.checkValue(item);
    return items;
  }

  /** Pops everything above the topmost mark, and the mark. */
  private popToMark(): unknown[] {
    const at = this.stack.lastIndexOf(MARK);
    if (at < 0) throw this.error('expected a MARK on the stack, found none');
    const items = this.stack.splice(at + 1);
    this.stack.pop();
    return items;
  }

  private checkValue(v: unknown): unknown {
    if (v === MARK) throw this.error('expected a value on the stack, found a MARK');
    return v;
  }
}
