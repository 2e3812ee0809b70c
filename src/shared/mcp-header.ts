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
/** Keywords under which an annotation is not statically reachable: it makes the tool invalid. */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'additionalProperties',
  'patternProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
  'dependentSchemas',
  'contains',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
]

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Whether an annotation hides anywhere in `schema` (where it would not be statically reachable). */
function hasAnnotation(schema: unknown, depth = 0): boolean {
  if (depth > 32 || typeof schema !== 'object' || schema === null) return false
  if (!Array.isArray(schema) && 'x-mcp-header' in schema) return true
  return Object.values(schema).some((v) => hasAnnotation(v, depth + 1))
}

/**
 * The `x-mcp-header` annotations of a tool's `inputSchema`, checked against the spec's constraints (token
 * syntax, case-insensitive uniqueness, integer/string/boolean only, reachable through `properties` alone).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#schema-extension
 */
export function toolHeaders(inputSchema: unknown): ToolHeaders {
  const params: ParamHeader[] = []
  const walk = (schema: Record<string, unknown>, path: string[]): string | undefined => {
    if (path.length > 16) return 'the schema nests properties too deeply'
    for (const key of UNREACHABLE) {
      if (key in schema && hasAnnotation(schema[key]))
        return `x-mcp-header under ${key} is not statically reachable`
    }
    const properties = schema['properties']
    if (!isObject(properties)) return undefined
    for (const [key, sub] of Object.entries(properties)) {
      if (!isObject(sub)) continue
      const at = [...path, key]
      const name = sub['x-mcp-header']
      if (name !== undefined) {
        if (typeof name !== 'string' || !TOKEN.test(name))
          return `x-mcp-header of ${at.join('.')} is not a header name`
        const type = sub['type']
        if (type !== 'string' && type !== 'integer' && type !== 'boolean') {
          return `x-mcp-header of ${at.join('.')} is on a ${JSON.stringify(type ?? 'untyped')} parameter`
        }
        if (params.some((p) => p.name.toLowerCase() === name.toLowerCase()))
          return `x-mcp-header ${name} repeats`
        params.push({ name, path: at })
      }
      const inner = walk(sub, at)
      if (inner) return inner
    }
    return undefined
  }
  if (!isObject(inputSchema)) return { ok: true, params }
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
