/**
 * OAuth scope strings as sets: parse, format, union, contains.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
 */

/** Split a space-delimited scope string into a de-duplicated list, keeping order. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 */
export function parseScope(value: string | readonly string[] | undefined | null): string[] {
  if (value == null) return []
  const items = typeof value === 'string' ? value.split(/[ \t]+/) : value
  return [...new Set(items.filter((s) => s.length > 0))]
}

/** Join scopes into the wire form, or undefined when empty. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 */
export function formatScope(scopes: readonly string[]): string | undefined {
  return scopes.length ? scopes.join(' ') : undefined
}

/** The union of several scope sets, in first-seen order. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow */
export function unionScope(...sets: (string | readonly string[] | undefined | null)[]): string[] {
  return parseScope(sets.flatMap((s) => parseScope(s)))
}

/** Whether `granted` includes every scope in `required`. @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 */
export function containsScope(
  granted: string | readonly string[] | undefined | null,
  required: string | readonly string[] | undefined | null,
): boolean {
  const have = new Set(parseScope(granted))
  return parseScope(required).every((s) => have.has(s))
}
