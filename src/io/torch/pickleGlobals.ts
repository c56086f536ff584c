/**
 * What a torch.save pickle may reference: the allowlisted globals (`torch._utils._rebuild_tensor_v2`,
 * `_rebuild_parameter`, `collections.OrderedDict`, the storage types) as pure handlers that build tensor
 * descriptors, and the persistent-id loader for storages. Nothing is executed.
 */
import * as yauzl from 'yauzl';
import { describePickleValue, PickleGlobal, PickleGlobalSpec } from './unpickle';
import { TorchDtype, TORCH_STORAGE_DTYPES, TORCH_DTYPE_NAMES } from './dtypes';

/** A storage referenced by a pickle persistent id `('storage', torch.XStorage, key, location, numel)`. */
export interface StorageRef {
  readonly key: string;
  readonly dtype: TorchDtype;
  /** Element count announced by the pickle. */
  readonly numel: number;
}

/** What `torch._utils._rebuild_tensor_v2` describes: a strided view of a storage. */
export interface TensorRef {
  readonly storage: StorageRef;
  /** Offset into the storage, in elements. */
  readonly offset: number;
  readonly shape: number[];
  /** Strides in elements. */
  readonly stride: number[];
}

/** A tensor of the checkpoint together with where its storage lives in the zip. */
export interface TensorDescriptor extends TensorRef {
  readonly name: string;
  readonly entry: yauzl.Entry;
}

/** Marker returned by `_rebuild_tensor_v2` and friends. */
export class RebuiltTensor implements TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** Marker for a persistent-id storage. */
export class StorageMarker implements StorageRef {
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly numel: number) {}
}

/** `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`. */
export function rebuildTensor(args: readonly unknown[]): RebuiltTensor {
  if (args.length < 4) throw new Error(`expected at least 4 arguments (storage, offset, size, stride), got ${args.length}`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageMarker)) throw new Error(`expected a storage as first argument, got ${describePickleValue(storage)}`);
  const shape = intTuple(size, 'size');
  const strides = intTuple(stride, 'stride');
  if (shape.length !== strides.length) {
    throw new Error(`size has ${shape.length} dims but stride has ${strides.length} (expected equal)`);
  }
  return new RebuiltTensor(storage, nonNegativeInt(offset, 'storage_offset'), shape, strides);
}

/** `torch._utils._rebuild_parameter(data, requires_grad, hooks[, state])`: the data tensor. */
export function rebuildParameter(args: readonly unknown[]): RebuiltTensor {
  if (!(args[0] instanceof RebuiltTensor)) throw new Error('expected a tensor as first argument');
  return args[0];
}

/** `collections.OrderedDict()` or `OrderedDict([(k, v), ...])`. */
export function orderedDict(args: readonly unknown[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  if (args.length === 0) return map;
  if (args.length === 1 && Array.isArray(args[0])) {
    for (const pair of args[0]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expected a list of (key, value) pairs');
      map.set(pair[0], pair[1]);
    }
    return map;
  }
  throw new Error(`expected no arguments or a list of pairs, got ${args.length} arguments`);
}

/** Allowlisted globals of torch state-dict pickles. */
export const TORCH_PICKLE_GLOBALS: ReadonlyMap<string, PickleGlobalSpec> = new Map<string, PickleGlobalSpec>([
  ['collections.OrderedDict', { call: orderedDict }],
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
  ['torch._utils._rebuild_tensor', { call: rebuildTensor }],
  ['torch._utils._rebuild_parameter', { call: rebuildParameter }],
  ['torch._utils._rebuild_parameter_with_state', { call: rebuildParameter }],
  ...[...TORCH_STORAGE_DTYPES.keys()].map((n): [string, PickleGlobalSpec] => [`torch.${n}`, {}]),
  ...[...TORCH_DTYPE_NAMES.keys()].map((n): [string, PickleGlobalSpec] => [`torch.${n}`, {}]),
]);

/** Resolves `('storage', torch.XStorage, key, location, numel)`. */
export function loadStoragePid(pid: unknown): StorageMarker {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new Error(`expected a persistent id ('storage', type, key, location, numel), got ${describePickleValue(pid)}`);
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !TORCH_STORAGE_DTYPES.has(type.name)) {
    const got = describePickleValue(type);
    throw new Error(`expected a torch storage class (torch.FloatStorage, ...) in persistent id, got ${got}`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) {
    throw new Error(`expected a storage key made of [A-Za-z0-9_.-], got ${describePickleValue(key)}`);
  }
  return new StorageMarker(key, TORCH_STORAGE_DTYPES.get(type.name)!, nonNegativeInt(numel, 'storage numel'));
}

/** The `persistentLoad` of torch pickles (storage persistent ids), for {@link unpickle} callers such as the fuzzer. */
export const torchPersistentLoad: (pid: unknown) => unknown = loadStoragePid;

export function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`expected ${what} to be a tuple of ints, got ${describePickleValue(v)}`);
  return v.map((x, i) => nonNegativeInt(x, `${what}[${i}]`));
}

export function nonNegativeInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`expected ${what} to be a non-negative integer, got ${describePickleValue(v)}`);
  }
  return v;
}
