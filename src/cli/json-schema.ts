/**
 * The part of JSON Schema 2020-12 that `schema/mcp-oauth.schema.json` uses (type, const, enum, properties,
 * required, additionalProperties, items, anyOf, $ref to $defs, minimum/maximum, minLength, minItems, pattern),
 * checked by hand so the file `serve --config` reads and the published schema are one document: a key the schema
 * refuses, serve refuses too. Pure: no I/O.
 * @see https://json-schema.org/draft/2020-12/json-schema-validation
 */

/** A JSON Schema node (the subset above; other keywords such as `description` and `format` are ignored). @see https://json-schema.org/draft/2020-12/json-schema-core */
export interface SchemaNode {
  type?: string
  const?: unknown
  enum?: readonly unknown[]
  properties?: Record<string, SchemaNode>
  required?: readonly string[]
  additionalProperties?: boolean | SchemaNode
  items?: SchemaNode
  anyOf?: readonly SchemaNode[]
  $ref?: string
  $defs?: Record<string, SchemaNode>
  minimum?: number
  maximum?: number
  minLength?: number
  minItems?: number
  pattern?: string
}

/** One reason a value does not match: its JSON path (`$.resources[0].uri`), what is wrong, and for an unknown key the closest known one. @see https://json-schema.org/draft/2020-12/json-schema-core#section-12.4 */
export interface SchemaProblem {
  path: string
  message: string
  /** The key that is not allowed, when that is the problem. */
  unknownKey?: string
  /** The allowed key closest to it. */
  suggestion?: string
}

/** The JSON path of a child: `$.a`, `$.a[0]`, `$["odd key"]`. @see https://www.rfc-editor.org/rfc/rfc9535#section-2.5 */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
}

/** Edit distance, for "did you mean". @see https://en.wikipedia.org/wiki/Levenshtein_distance */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]!
}

/** The known key closest to `key` (case and `-`/`_` ignored), when it is close enough to be a typo. @see https://json-schema.org/draft/2020-12/json-schema-core#section-10.3.2.3 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  let best: { name: string; d: number } | undefined
  for (const name of known) {
    const d = distance(fold(key), fold(name))
    if (!best || d < best.d) best = { name, d }
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function resolve(node: SchemaNode, root: SchemaNode): SchemaNode {
  if (!node.$ref) return node
  const name = /^#\/\$defs\/(.+)$/.exec(node.$ref)?.[1]
  const target = name ? root.$defs?.[name] : undefined
  if (!target) throw new Error(`schema: unresolvable $ref ${node.$ref}`)
  return resolve(target, root)
}

/**
 * Every problem of `value` against `node` (the first per branch), depth first; empty when it matches.
 * @see https://json-schema.org/draft/2020-12/json-schema-validation
 */
export function validateSchema(
  value: unknown,
  node: SchemaNode,
  root: SchemaNode = node,
  path = '$',
): SchemaProblem[] {
  const schema = resolve(node, root)
  if (schema.anyOf) {
    const tries = schema.anyOf.map((branch) => validateSchema(value, branch, root, path))
    if (tries.some((t) => t.length === 0)) return []
    // The branch of the value's own type explains best (an object with a bad key, not "is not false").
    const sameType = schema.anyOf.findIndex((b) => {
      const r = resolve(b, root)
      return (
        r.type !== undefined &&
        (r.type === typeOf(value) || (r.type === 'number' && typeof value === 'number'))
      )
    })
    return sameType >= 0
      ? tries[sameType]!
      : [{ path, message: `does not have an allowed form (${describe(schema.anyOf, root)})` }]
  }
  const problems: SchemaProblem[] = []
  if ('const' in schema && value !== schema.const)
    return [{ path, message: `must be ${JSON.stringify(schema.const)}` }]
  if (schema.enum && !schema.enum.includes(value))
    return [{ path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` }]
  if (schema.type) {
    const actual = typeOf(value)
    const fits = actual === schema.type || (schema.type === 'number' && actual === 'integer')
    if (!fits) return [{ path, message: `must be ${article(schema.type)}, not ${article(actual)}` }]
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push({ path, message: `must be at least ${schema.minimum}` })
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push({ path, message: `must be at most ${schema.maximum}` })
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      problems.push({ path, message: 'must not be empty' })
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      problems.push({ path, message: `does not match ${schema.pattern}` })
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push({ path, message: `needs at least ${schema.minItems} item(s)` })
    if (schema.items)
      value.forEach((item, i) => {
        problems.push(...validateSchema(item, schema.items!, root, childPath(path, i)))
      })
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>
    for (const key of schema.required ?? [])
      if (!(key in object)) problems.push({ path, message: `needs the key "${key}"` })
    const known = Object.keys(schema.properties ?? {})
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key]
      if (property) problems.push(...validateSchema(child, property, root, childPath(path, key)))
      else if (schema.additionalProperties === false) {
        const suggestion = closestKey(key, known)
        problems.push({
          path: childPath(path, key),
          message: `is not a known key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
          unknownKey: key,
          ...(suggestion ? { suggestion } : {}),
        })
      } else if (typeof schema.additionalProperties === 'object')
        problems.push(...validateSchema(child, schema.additionalProperties, root, childPath(path, key)))
    }
  }
  return problems
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`
}

function describe(branches: readonly SchemaNode[], root: SchemaNode): string {
  return branches
    .map((b) => {
      const r = resolve(b, root)
      return 'const' in r ? JSON.stringify(r.const) : (r.type ?? 'a value')
    })
    .join(' or ')
}
