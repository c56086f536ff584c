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

/** Items joined by ", ", at most `max` of them, then "... (N in all)": keeps messages about huge lists short. */
export function capList(items: readonly unknown[], max = 8): string {
  const shown = items.slice(0, max).map((x) => (typeof x === 'string' ? (x.length > 80 ? `${x.slice(0, 77)}...` : x) : describe(x)));
  return items.length > max ? `${shown.join(', ')}, ... (${items.length} in all)` : shown.join(', ');
}
