/**
 * Per-operation scope policy: which scopes a JSON-RPC method, tool, resource or prompt needs, read from the
 * 2026-07-28 `Mcp-Method`/`Mcp-Name` headers (checked against the body) or from the body.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-challenge-handling
 */
import { unionScope } from '../shared/scope.ts'

/** One JSON-RPC operation: its method and, for tools/prompts/resources, the name or URI. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http */
export interface Operation {
  method: string
  /** `params.name` of tools/call and prompts/get, `params.uri` of resources/read and (un)subscribe. */
  name?: string
}

/** Decides the full scope set an operation needs. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#runtime-insufficient-scope-errors */
export interface ScopePolicy {
  /** Whether the policy looks at operations at all; when false the body is never read. */
  readonly needsOperation: boolean
  /** The complete scope set the given operations need (empty list: any valid token will do). */
  requiredScopes(operations: readonly Operation[]): string[]
  /** The granted scopes widened by the scope hierarchy. */
  expandGranted(scopes: readonly string[]): Set<string>
}

/** Declarative policy. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy */
export interface ScopePolicyOptions {
  /** Scopes every request needs; also what the 401 challenge asks for. */
  required?: readonly string[]
  /** Extra scopes per JSON-RPC method (e.g. `tools/list`). */
  methods?: Readonly<Record<string, readonly string[]>>
  /** Extra scopes per tool name (tools/call). */
  tools?: Readonly<Record<string, readonly string[]>>
  /** Extra scopes per resource URI (resources/read, resources/subscribe). */
  resources?: Readonly<Record<string, readonly string[]>>
  /** Extra scopes per prompt name (prompts/get). */
  prompts?: Readonly<Record<string, readonly string[]>>
  /** Scope hierarchy: a granted broad scope implies the narrower ones listed (MCP: servers MUST honour it). */
  implies?: Readonly<Record<string, readonly string[]>>
}

const own = (o: Readonly<Record<string, readonly string[]>> | undefined, k: string | undefined) =>
  o && k !== undefined && Object.hasOwn(o, k) ? o[k] : undefined

/**
 * Build a {@link ScopePolicy} from a table; required scopes are the union of `required`, the method's and the
 * named tool's, resource's or prompt's.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#runtime-insufficient-scope-errors
 */
export function scopePolicy(options: ScopePolicyOptions = {}): ScopePolicy {
  const base = unionScope(options.required ?? [])
  const needsOperation = [options.methods, options.tools, options.resources, options.prompts].some(
    (t) => t !== undefined && Object.keys(t).length > 0,
  )
  const implies = options.implies ?? {}
  // Resource URIs are compared as the SDK resolves them (new URL(uri).href), so a differently written URI
  // (case of scheme or host, default port, dot segments) cannot slip past its entry.
  const resources = options.resources
    ? Object.fromEntries(
        Object.entries(options.resources).map(([uri, scopes]) => [normalizeUri(uri), scopes]),
      )
    : undefined
  // Operations repeat endlessly (the same few tools), so their scope sets are memoised, within a bound.
  const memo = new Map<string, string[]>()
  const single = (op: Operation): string[] => {
    const key = `${op.method}\n${op.name ?? ''}`
    let hit = memo.get(key)
    if (!hit) {
      hit = compute([op])
      if (memo.size >= 1024) memo.clear()
      memo.set(key, hit)
    }
    return hit
  }
  const compute = (operations: readonly Operation[]): string[] => {
    const sets: (readonly string[] | undefined)[] = [base]
    for (const op of operations) {
      sets.push(own(options.methods, op.method))
      if (op.method === 'tools/call') sets.push(own(options.tools, op.name))
      else if (op.method === 'prompts/get') sets.push(own(options.prompts, op.name))
      else if (op.method.startsWith('resources/'))
        sets.push(own(resources, op.name === undefined ? undefined : normalizeUri(op.name)))
    }
    return unionScope(...sets)
  }
  return {
    needsOperation,
    requiredScopes(operations) {
      if (!needsOperation || operations.length === 0) return base
      return operations.length === 1 ? single(operations[0]!) : compute(operations)
    },
    expandGranted(scopes) {
      const out = new Set(scopes)
      // Breadth-first over the hierarchy; the visited set makes a cyclic table harmless.
      const queue = [...scopes]
      while (queue.length) {
        const s = queue.pop()!
        for (const narrower of own(implies, s) ?? []) {
          if (!out.has(narrower)) {
            out.add(narrower)
            queue.push(narrower)
          }
        }
      }
      return out
    },
  }
}

/** The scopes in `required` that `granted` lacks. @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 */
export function missingScopes(granted: Set<string>, required: readonly string[]): string[] {
  return required.filter((s) => !granted.has(s))
}

const NAMED_BY_NAME = new Set(['tools/call', 'prompts/get'])
const NAMED_BY_URI = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe'])

/** Why headers and body disagree, for the -32020 answer. */
export interface HeaderMismatch {
  message: string
  id: unknown
}

/**
 * The operations in a parsed JSON-RPC body (a message or a batch), checked against `Mcp-Method` and `Mcp-Name`
 * when those headers are present.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#server-validation
 */
export function readOperations(
  headers: Headers,
  body: unknown,
): { operations: Operation[] } | { mismatch: HeaderMismatch } {
  const messages = Array.isArray(body) ? body : [body]
  const operations: Operation[] = []
  for (const m of messages) {
    if (m === null || typeof m !== 'object') continue
    const method = (m as { method?: unknown }).method
    if (typeof method !== 'string') continue
    const params = (m as { params?: unknown }).params as Record<string, unknown> | undefined
    const op: Operation = { method }
    const key = NAMED_BY_NAME.has(method) ? 'name' : NAMED_BY_URI.has(method) ? 'uri' : undefined
    if (key && params && typeof params === 'object' && typeof params[key] === 'string') op.name = params[key]
    operations.push(op)
  }
  const headerMethod = headers.get('mcp-method')
  const headerName = headers.get('mcp-name')
  if (headerMethod === null && headerName === null) return { operations }
  const id = Array.isArray(body) ? null : ((body as { id?: unknown } | null)?.id ?? null)
  const mismatch = (message: string) => ({ mismatch: { message: `Header mismatch: ${message}`, id } })
  if (Array.isArray(body) || operations.length !== 1)
    return mismatch('Mcp-Method names one request but the body is not one request')
  const op = operations[0]!
  if (headerMethod !== null && headerMethod !== op.method)
    return mismatch(
      `Mcp-Method header value '${clip(headerMethod)}' does not match body value '${clip(op.method)}'`,
    )
  if (headerName !== null) {
    const decoded = decodeHeaderValue(headerName)
    if (decoded === undefined) return mismatch('Mcp-Name header value is not valid Base64')
    if (decoded !== op.name)
      return mismatch(
        `Mcp-Name header value '${clip(decoded)}' does not match body value '${clip(op.name ?? '')}'`,
      )
  } else if (op.name !== undefined && headerMethod !== null) {
    return mismatch(`Mcp-Name header is missing for ${op.method}`)
  }
  return { operations }
}

/**
 * Decode the `=?base64?…?=` sentinel form of an `Mcp-Name` value; plain values pass unchanged.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#value-encoding
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value
  const b64 = value.slice(9, -2)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined
  const bytes = Buffer.from(b64, 'base64')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s
}

/** A URI as the SDK resolves it; text that is not a URL stays as it is (the SDK refuses it anyway). */
function normalizeUri(uri: string): string {
  return URL.parse(uri)?.href ?? uri
}
