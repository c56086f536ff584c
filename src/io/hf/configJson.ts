/**
 * config.json text → a JSON value, accepting the two ways checkpoints write infinite floats:
 *   transformers 5: `{"__float__": "Infinity"}` (also "-Infinity", "NaN"), an object standing for a float;
 *   older writers (Python's json.dumps): the bare tokens `Infinity`, `-Infinity`, `NaN`, which are not JSON.
 * Both become JavaScript numbers (±Infinity, NaN).
 */

const SPECIAL: Record<string, number> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN };

/** Marker that replaces a bare token before JSON.parse (a string no real config holds). */
const MARK = '\u0000mamba-tfjs-float:';

/** Replace bare Infinity / -Infinity / NaN tokens outside strings by marked strings. */
function quoteBareFloats(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      // Copy a string literal as it is, escapes included.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token) {
      out += JSON.stringify(MARK + token);
      i += token.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** A marked string or a `{"__float__": ...}` object as its number; anything else unchanged. */
function special(value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(MARK)) return SPECIAL[value.slice(MARK.length)];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const f = (value as Record<string, unknown>).__float__;
    if (keys.length === 1 && typeof f === 'string') {
      if (f in SPECIAL) return SPECIAL[f];
      const n = Number(f);
      if (f.trim() !== '' && !Number.isNaN(n)) return n;
    }
  }
  return value;
}

/**
 * Parse config.json text. Plain JSON parses as JSON.parse would; infinite floats in either spelling become numbers.
 * The replacement walks the value with an explicit stack (a JSON.parse reviver recurses, and a config nested a
 * million levels deep overflowed the call stack).
 * @throws SyntaxError from JSON.parse on text that is not JSON apart from those tokens
 */
export function parseConfigJson(text: string): unknown {
  const root = special(JSON.parse(quoteBareFloats(text)));
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const node = todo.pop();
    if (node === null || typeof node !== 'object') continue;
    const obj = node as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = special(obj[k]);
      obj[k] = v;
      if (v !== null && typeof v === 'object') todo.push(v);
    }
  }
  return root;
}
