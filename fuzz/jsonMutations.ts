/**
 * JSON mutations for the fuzzer (config.json, safetensors headers): structural ones on the parsed value
 * (replace a node by a boundary value of another type, delete, add or rename a key, nest deeply) and textual
 * ones on the text (huge or malformed number literals, stray punctuation, truncation, lone surrogates).
 */
import { Rng } from '../src/tasks/rng';

/** A mutated JSON text and what was done. */
export interface MutatedText {
  text: string;
  what: string;
}

/** Placeholder replaced after serialization by a deeply nested array (stringify would overflow on it). */
const DEEP = '\u0000deep\u0000';

/** Values a parser should treat with suspicion. */
function interestingJson(rng: Rng): unknown {
  const choices: Array<() => unknown> = [
    () => 0, () => -1, () => 1, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 1e21, () => 1e308, () => -1e308,
    () => 0.5, () => 5e-324, () => 10 * 1024 ** 3, () => rng.range(-1000, 100000),
    () => '', () => 'F32', () => 'BF16', () => 'X9', () => 'auto', () => 'x'.repeat(rng.range(1, 100000)), () => '\u0000',
    () => null, () => true, () => false, () => [], () => ({}), () => [1, 2], () => [-1], () => [2 ** 40, 2 ** 40 + 4],
    () => [0, 2 ** 53], () => [[1]], () => ({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }), () => DEEP,
  ];
  return choices[rng.int(choices.length)]();
}

type Path = Array<string | number>;

/** Every node path of a JSON value (the root is []). */
function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (out.length > 10000) return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}

/** Applies one structural mutation to a parsed JSON value (in place where possible); returns the new root. */
function mutateValue(root: unknown, rng: Rng): { root: unknown; what: string } {
  const all = paths(root);
  const path = all[rng.int(all.length)];
  const label = path.length === 0 ? '<root>' : path.join('.');
  if (path.length === 0) {
    const v = interestingJson(rng);
    return { root: v, what: `json: root -> ${short(v)}` };
  }
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1];
  const r = rng.next();
  if (r < 0.6) {
    const v = interestingJson(rng);
    (parent as Record<string | number, unknown>)[key] = v;
    return { root, what: `json: ${label} -> ${short(v)}` };
  }
  if (r < 0.75) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key as string];
    return { root, what: `json: delete ${label}` };
  }
  if (r < 0.85 && !Array.isArray(parent)) {
    const p = parent as Record<string, unknown>;
    const value = p[key as string];
    delete p[key as string];
    const renamed = rng.next() < 0.5 ? `${String(key)}_` : ['__proto__', 'constructor', '', '__metadata__'][rng.int(4)];
    Object.defineProperty(p, renamed, { value, enumerable: true, configurable: true, writable: true });
    return { root, what: `json: rename ${label} -> ${JSON.stringify(renamed)}` };
  }
  if (Array.isArray(parent)) {
    const v = interestingJson(rng);
    parent.push(v);
    return { root, what: `json: append ${short(v)} to ${path.slice(0, -1).join('.') || '<root>'}` };
  }
  const v = interestingJson(rng);
  (parent as Record<string, unknown>)[`extra_${rng.int(1000)}`] = v;
  return { root, what: `json: add key beside ${label} = ${short(v)}` };
}

function short(v: unknown): string {
  if (v === DEEP) return 'deeply nested array';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Serializes, expanding the deep-nesting placeholder. */
function serialize(v: unknown, rng: Rng): string {
  const text = JSON.stringify(v) ?? 'null';
  const quoted = JSON.stringify(DEEP);
  if (!text.includes(quoted)) return text;
  const depth = rng.range(1000, 200000);
  return text.split(quoted).join('['.repeat(depth) + ']'.repeat(depth));
}

/** Number literals that do not survive a round trip through a double, or that are out of every range. */
const WILD_NUMBERS = [
  '1e999', '-1e999', '18446744073709551616', '9007199254740993', '10737418240', '-0', '1.5', '0x10', '01', '1e-999',
  '99999999999999999999999999999999', 'NaN', 'Infinity', '-',
];
/** Characters that break JSON structure. */
const PUNCTUATION = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '\n', '0', 'e', '-', '.', '\\ud800', '\ufeff', '\u0000'];

/** Applies one textual mutation. */
function mutateText(text: string, rng: Rng): MutatedText {
  const r = rng.next();
  const numbers = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
  if (r < 0.4 && numbers.length > 0) {
    const m = numbers[rng.int(numbers.length)];
    const lit = WILD_NUMBERS[rng.int(WILD_NUMBERS.length)];
    return { text: text.slice(0, m.index) + lit + text.slice(m.index! + m[0].length), what: `json text: number ${m[0]} -> ${lit}` };
  }
  const at = rng.int(text.length + 1);
  if (r < 0.65) {
    const p = PUNCTUATION[rng.int(PUNCTUATION.length)];
    return { text: text.slice(0, at) + p + text.slice(at), what: `json text: insert ${JSON.stringify(p)} at ${at}` };
  }
  if (r < 0.85) {
    const n = rng.range(1, 8);
    return { text: text.slice(0, at) + text.slice(at + n), what: `json text: delete ${n} chars at ${at}` };
  }
  return { text: text.slice(0, at), what: `json text: truncate to ${at} chars` };
}

/** One mutation of a JSON text: structural when it parses and the coin says so, else textual. */
export function mutateJson(text: string, rng: Rng): MutatedText {
  if (rng.next() < 0.6) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return mutateText(text, rng);
    }
    const { root, what } = mutateValue(parsed, rng);
    return { text: serialize(root, rng), what };
  }
  return mutateText(text, rng);
}
