/**
 * JSON Pointer (RFC 6901): `''` is the whole document, `/a/0/b~1c` is `doc.a[0]["b/c"]`. Hand-written because it is
 * twenty lines and no installed package provides it.
 */

/** Why a pointer is malformed, or null when it is well-formed. */
export function jsonPointerError(pointer: string): string | null {
  if (pointer === '') return null;
  if (!pointer.startsWith('/')) return "must be a JSON pointer: empty, or starting with '/' (like /items)";
  // `~` is only ever an escape: `~0` for `~` and `~1` for `/`.
  if (/~(?![01])/.test(pointer)) return "must be a JSON pointer: '~' may only appear as ~0 or ~1";
  return null;
}

/**
 * Splits a pointer into its unescaped reference tokens.
 * @throws {SyntaxError} when the pointer is malformed (see {@link jsonPointerError}).
 */
export function parseJsonPointer(pointer: string): string[] {
  const error = jsonPointerError(pointer);
  if (error !== null) throw new SyntaxError(`invalid JSON pointer ${JSON.stringify(pointer)}: ${error}`);
  if (pointer === '') return [];
  // ~1 first, then ~0: the other order would turn `~01` into `/` instead of `~1`.
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The outcome of resolving a pointer: the value, or the prefix of the pointer that exists no further. */
export type PointerResolution = { found: true; value: unknown } | { found: false; missingAt: string };

/**
 * Resolves `pointer` in `document` (a parsed JSON value). Only own properties count, so `/constructor` or
 * `/__proto__` find nothing rather than something of the runtime's. Array indexes are decimal without leading
 * zeros; `-` (one past the end) never resolves.
 */
export function resolveJsonPointer(document: unknown, pointer: string): PointerResolution {
  const tokens = parseJsonPointer(pointer);
  let current = document;
  let at = '';
  for (const token of tokens) {
    at += `/${token.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= current.length) return { found: false, missingAt: at };
      current = current[Number(token)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else {
      return { found: false, missingAt: at };
    }
  }
  return { found: true, value: current };
}
