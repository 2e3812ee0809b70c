/**
 * The `mcp-oauth login` command a hint prints when a sign-in needs a person who cannot be asked here: the URL the
 * person gave (not the resource the server publishes, which may be its bare origin) and the flags that shaped this
 * sign-in (client, callback, store, resource, DPoP, TLS), shell-quoted so it runs as printed.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
import type { SignInCommand } from '../client/index.ts'
import { redactUrl } from '../shared/redact.ts'
import type { SessionFlags } from './options.ts'

/** Flags that decide which client signs in where and where the session is kept; the mode flags are left out. */
const SHAPING = [
  'account',
  'client-id',
  'client-secret-env',
  'client-info',
  'client-metadata-url',
  'resource',
  'callback-port',
  'callback-host',
  'callback-path',
  'allow-http',
  'ca-file',
  'dpop',
  'store',
  'store-dir',
] as const

/** What else shaped the sign-in beyond the shared flags (login's and connect's `--callback-path`). */
export interface SignInShape {
  'callback-path'?: string | undefined
}

/** A POSIX shell word: bare when it is plainly safe, else single-quoted. @see https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_02_02 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** Inline client JSON with its secret replaced: a hint is a message, and messages never carry credentials. */
function withoutSecret(info: string): string {
  if (info.startsWith('@')) return info
  try {
    const parsed = JSON.parse(info) as Record<string, unknown>
    if (!('client_secret' in parsed)) return info
    return JSON.stringify({ ...parsed, client_secret: 'CLIENT_SECRET' })
  } catch {
    return info
  }
}

/** A header flag that can be printed: `${VAR}` references as given, literal values (maybe secrets) as a placeholder. */
function printableHeader(header: string): string {
  const colon = header.indexOf(':')
  if (colon <= 0 || /\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(header)) return header
  return `${header.slice(0, colon)}: VALUE`
}

/**
 * The sign-in instruction for hints (command in backticks) for `serverUrl` as given, with the flags that shaped this
 * sign-in. A URL with a query cannot be shown (it may carry a credential), so the instruction says to use it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
export function signInCommandFor(
  serverUrl: string,
  flags: SessionFlags & SignInShape,
  shape: SignInShape = {},
): SignInCommand {
  let hasQuery = false
  try {
    hasQuery = new URL(serverUrl).search.length > 1
  } catch {}
  const shown = redactUrl(serverUrl)
  const words: string[] = []
  const all: Record<string, unknown> = { ...flags, ...shape }
  for (const name of SHAPING) {
    const value = all[name]
    if (value === undefined || value === false) continue
    if (value === true) words.push(`--${name}`)
    else
      for (const v of Array.isArray(value) ? value : [value])
        words.push(`--${name}`, shellQuote(name === 'client-info' ? withoutSecret(String(v)) : String(v)))
  }
  for (const h of flags.header ?? []) words.push('--header', shellQuote(printableHeader(h)))
  return (scope) => {
    const tail = [...words, ...(scope ? ['--scope', shellQuote(scope)] : [])].join(' ')
    const command = `mcp-oauth login ${hasQuery ? 'URL' : shellQuote(shown)}${tail ? ` ${tail}` : ''}`
    return hasQuery
      ? `\`${command}\` with URL the server URL you configured, query string included (${shown}?…, not shown here)`
      : `\`${command}\``
  }
}
