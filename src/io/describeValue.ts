/**
 * A short JSON rendering of a value for error messages; safe on values too deeply nested to stringify.
 */
export function describe(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'a deeply nested array' : 'a deeply nested object';
  }
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
