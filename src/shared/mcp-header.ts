/**
 * The 2026-07-28 Streamable HTTP request headers a client derives from a message: `Mcp-Name`, and the
 * `Mcp-Param-{Name}` headers a tool asks for with `x-mcp-header` in its input schema. Pure: no I/O.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#custom-headers-from-tool-parameters
 */

/** One `x-mcp-header` annotation: the header's name part and the chain of `properties` keys to the value. */
export interface ParamHeader {
  name: string
  path: string[]
}

/** A tool's annotations, or why the tool must be left out of `tools/list` (the spec's rejection). */
export type ToolHeaders = { ok: true; params: ParamHeader[] } | { ok: false; reason: string }

/** RFC 9110 §5.1 field-name token characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Keywords whose values are instance data, not schemas: a key named x-mcp-header there is no annotation. */
const DATA = new Set(['default', 'const', 'enum', 'examples', 'example'])
/** Primitive types an annotated parameter may have (`number` is not allowed). */
const PRIMITIVE = new Set(['string', 'integer', 'boolean'])

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Whether an annotation sits anywhere in this schema (data values and property names aside). */
function hasAnnotation(schema: unknown, depth = 0): boolean {
  if (depth > 64) return true
  if (Array.isArray(schema)) return schema.some((v) => hasAnnotation(v, depth + 1))
  if (!isObject(schema)) return false
  if ('x-mcp-header' in schema) return true
  return Object.entries(schema).some(([key, value]) => {
    if (DATA.has(key)) return false
    if (key === 'properties' && isObject(value)) {
      return Object.values(value).some((sub) => hasAnnotation(sub, depth + 1))
    }
    return hasAnnotation(value, depth + 1)
  })
}

/** The one primitive type of a parameter (`"string"`, or `["string", "null"]`), else undefined. */
function primitiveType(type: unknown): string | undefined {
  const types = Array.isArray(type) ? type.filter((t) => t !== 'null') : [type]
  return types.length === 1 && typeof types[0] === 'string' && PRIMITIVE.has(types[0]) ? types[0] : undefined
}

/**
 * The `x-mcp-header` annotations of a tool's `inputSchema`, checked against the spec's constraints (token
 * syntax, case-insensitive uniqueness, integer/string/boolean only, reachable through `properties` alone: an
 * annotation anywhere else, or on the root, makes the tool invalid).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#schema-extension
 */
export function toolHeaders(inputSchema: unknown): ToolHeaders {
  const params: ParamHeader[] = []
  const walk = (schema: Record<string, unknown>, path: string[]): string | undefined => {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' || key === 'x-mcp-header' || DATA.has(key)) continue
      if (hasAnnotation(value)) return `x-mcp-header under ${key} is not statically reachable`
    }
    const properties = schema['properties']
    if (!isObject(properties)) return undefined
    for (const [key, sub] of Object.entries(properties)) {
      if (!isObject(sub)) continue
      const at = [...path, key]
      const where = JSON.stringify(at.join('.'))
      const name = sub['x-mcp-header']
      if (name !== undefined) {
        if (typeof name !== 'string' || !TOKEN.test(name))
          return `x-mcp-header of ${where} is not a header name`
        if (!primitiveType(sub['type']))
          return `x-mcp-header of ${where} is not on a string, integer or boolean`
        if (params.some((p) => p.name.toLowerCase() === name.toLowerCase())) {
          return `x-mcp-header ${JSON.stringify(name)} repeats`
        }
        params.push({ name, path: at })
      }
      if (at.length > 32) {
        if (hasAnnotation(sub)) return 'x-mcp-header nested too deeply'
        continue
      }
      const inner = walk(sub, at)
      if (inner) return inner
    }
    return undefined
  }
  if (!isObject(inputSchema)) return { ok: true, params }
  if ('x-mcp-header' in inputSchema) return { ok: false, reason: 'x-mcp-header on the schema root' }
  const problem = walk(inputSchema, [])
  return problem ? { ok: false, reason: problem } : { ok: true, params }
}

/**
 * A header value as the 2026-07-28 transport encodes it: plain visible ASCII as is, anything else (non-ASCII,
 * control characters, edge whitespace, the sentinel itself) as `=?base64?…?=` of its UTF-8.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#value-encoding
 */
export function encodeHeaderValue(s: string): string {
  const sentinel = s.startsWith('=?base64?') && s.endsWith('?=')
  const plain = s.length > 0 && s === s.trim() && !/[^\t\x20-\x7e]/.test(s) && !sentinel
  return plain ? s : `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`
}

/**
 * The `Mcp-Param-{Name}` headers of one `tools/call`: each annotated argument that is present, converted as the
 * spec says (string as is, safe integer in decimal, boolean lower-case) and encoded; absent values are omitted.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#client-behavior
 */
export function paramHeaders(params: readonly ParamHeader[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const p of params) {
    let v: unknown = args
    for (const key of p.path) v = isObject(v) ? v[key] : undefined
    const text =
      typeof v === 'string'
        ? v
        : typeof v === 'boolean'
          ? String(v)
          : typeof v === 'number' && Number.isSafeInteger(v)
            ? String(v)
            : undefined
    if (text !== undefined) headers[`mcp-param-${p.name.toLowerCase()}`] = encodeHeaderValue(text)
  }
  return headers
}
