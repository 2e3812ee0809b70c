/**
 * `WWW-Authenticate` challenges: an RFC 9110 §11.6.1 parser and serializer, plus the MCP reading of them.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
import { ProtocolViolationError, SPEC } from './errors.ts'

/** One parsed challenge. Scheme and parameter names are lower-cased (they are case-insensitive). */
export interface Challenge {
  scheme: string
  params: Record<string, string>
  token68?: string
}

/** What an MCP client needs from a Bearer or DPoP challenge. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface McpChallenge {
  scheme: 'bearer' | 'dpop'
  resource_metadata?: string
  scope?: string
  error?: string
  error_description?: string
  /** DPoP `algs` (RFC 9449 §7.1), space separated. */
  algs?: string
  realm?: string
}

/** Longest header value we parse; a challenge is a few hundred bytes, anything near this is hostile. */
const MAX_HEADER_LENGTH = 16 * 1024
const MAX_PARAMS = 64

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new ProtocolViolationError(
    'invalid_www_authenticate',
    `malformed WWW-Authenticate header: ${message}`,
    {
      spec: SPEC.rfc9110,
      hint: 'The server sent a challenge that does not follow RFC 9110 §11.6.1; report it to the server operator.',
      details,
    },
  )
}

class Scanner {
  pos = 0
  readonly s: string
  constructor(s: string) {
    this.s = s
  }
  get done(): boolean {
    return this.pos >= this.s.length
  }
  peek(): string {
    return this.s[this.pos] ?? ''
  }
  skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++
  }
  skipWsAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++
  }
  token(): string {
    const start = this.pos
    while (!this.done && TCHAR.test(this.peek())) this.pos++
    return this.s.slice(start, this.pos)
  }
  quoted(): string {
    this.pos++ // opening quote
    let out = ''
    while (!this.done) {
      const c = this.s[this.pos++]!
      if (c === '"') return out
      if (c === '\\') {
        if (this.done) break
        out += this.s[this.pos++]
      } else {
        out += c
      }
    }
    return fail('unterminated quoted-string', { position: this.pos })
  }
}

/** Is what starts at `pos` a token68 that ends the challenge (as in `Basic dXNlcg==`)? */
function token68At(sc: Scanner): string | undefined {
  let i = sc.pos
  while (i < sc.s.length && TOKEN68_CHAR.test(sc.s[i]!)) i++
  if (i === sc.pos) return undefined
  while (sc.s[i] === '=') i++
  let j = i
  while (sc.s[j] === ' ' || sc.s[j] === '\t') j++
  if (j < sc.s.length && sc.s[j] !== ',') return undefined
  const value = sc.s.slice(sc.pos, i)
  // `a=b` is a parameter, not a token68: a token68 may only end in '=' with nothing after it.
  sc.pos = j
  return value
}

/**
 * Parse every challenge in one or more `WWW-Authenticate` header values. Throws only `ProtocolViolationError`.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export function parseWwwAuthenticate(
  input: string | readonly string[] | Headers | null | undefined,
): Challenge[] {
  if (input == null) return []
  let values: readonly string[]
  if (typeof input === 'string') values = [input]
  else if (Array.isArray(input)) values = input
  else {
    // Headers joins repeated fields with ", ", which the list grammar reads back unchanged.
    const joined = (input as Headers).get('www-authenticate')
    values = joined === null ? [] : [joined]
  }
  const out: Challenge[] = []
  for (const value of values) {
    if (typeof value !== 'string') fail('header value is not a string')
    if (value.length > MAX_HEADER_LENGTH) fail('header is too long', { length: value.length })
    out.push(...parseOne(value))
  }
  return out
}

function parseOne(value: string): Challenge[] {
  const sc = new Scanner(value)
  const challenges: Challenge[] = []
  sc.skipWsAndCommas()
  while (!sc.done) {
    const scheme = sc.token()
    if (!scheme) fail(`expected an auth-scheme at position ${sc.pos}`, { position: sc.pos })
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: Object.create(null) }
    challenges.push(challenge)
    const afterScheme = sc.pos
    sc.skipWs()
    if (sc.done || sc.peek() === ',') {
      sc.skipWsAndCommas()
      continue
    }
    if (sc.pos === afterScheme) fail(`expected a space after "${scheme}"`, { position: sc.pos })
    const t68 = token68At(sc)
    if (t68 !== undefined) {
      challenge.token68 = t68
      sc.skipWsAndCommas()
      continue
    }
    // auth-param list; a comma followed by `token =` continues it, anything else starts a new challenge.
    for (;;) {
      const name = sc.token().toLowerCase()
      if (!name) fail(`expected a parameter name at position ${sc.pos}`, { position: sc.pos })
      sc.skipWs()
      if (sc.peek() !== '=') fail(`expected "=" after "${name}"`, { position: sc.pos })
      sc.pos++
      sc.skipWs()
      const v = sc.peek() === '"' ? sc.quoted() : sc.token()
      if (name in challenge.params) fail(`parameter "${name}" appears twice`, { parameter: name })
      if (Object.keys(challenge.params).length >= MAX_PARAMS) fail('too many parameters')
      challenge.params[name] = v
      sc.skipWs()
      if (sc.done) break
      if (sc.peek() !== ',') fail(`unexpected character at position ${sc.pos}`, { position: sc.pos })
      sc.skipWsAndCommas()
      if (sc.done) break
      const mark = sc.pos
      const next = sc.token()
      sc.skipWs()
      const isParam = next !== '' && sc.peek() === '='
      sc.pos = mark
      if (!isParam) break
    }
  }
  return challenges
}

/**
 * The Bearer or DPoP challenge an MCP client acts on (DPoP preferred when both are present and `preferDpop`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#protected-resource-metadata-discovery-requirements
 */
export function readMcpChallenge(
  input: string | readonly string[] | Headers | null | undefined,
  options: { preferDpop?: boolean } = {},
): McpChallenge | undefined {
  const all = parseWwwAuthenticate(input)
  const bearer = all.find((c) => c.scheme === 'bearer')
  const dpop = all.find((c) => c.scheme === 'dpop')
  // A server answering a DPoP token may put the error on either scheme; the one carrying `error` is the verdict.
  const withError = [bearer, dpop].filter((c) => c?.params['error'] !== undefined)
  const chosen =
    withError.length === 1 ? withError[0] : options.preferDpop ? (dpop ?? bearer) : (bearer ?? dpop)
  if (!chosen) return undefined
  const p = chosen.params
  // Servers that send only one of the two schemes often put resource_metadata on only one of them.
  const other = chosen === bearer ? dpop : bearer
  const pick = (k: string) => p[k] ?? other?.params[k]
  const result: McpChallenge = { scheme: chosen.scheme as 'bearer' | 'dpop' }
  const rm = pick('resource_metadata')
  if (rm !== undefined) result.resource_metadata = rm
  if (p['scope'] !== undefined) result.scope = p['scope']
  if (p['error'] !== undefined) result.error = p['error']
  if (p['error_description'] !== undefined) result.error_description = p['error_description']
  if (dpop?.params['algs'] !== undefined) result.algs = dpop.params['algs']
  if (p['realm'] !== undefined) result.realm = p['realm']
  return result
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ')}"`
}

/**
 * Serialize one challenge; every value is sent as a quoted-string.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export function formatChallenge(scheme: string, params: Record<string, string | undefined>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) throw new TypeError(`invalid auth-param name ${k}`)
    parts.push(`${k}=${quote(v)}`)
  }
  return parts.length ? `${scheme} ${parts.join(', ')}` : scheme
}
