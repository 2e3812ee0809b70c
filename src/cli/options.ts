/**
 * The options every session command shares (connect, login, logout, status, token, tools, call, doctor),
 * parsed once and turned into a client session: store, authorizer, client identity, TLS and proxy settings.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { readFileSync } from 'node:fs'
import { openBrowser } from '../client/interaction/browser.ts'
// Each from its own module, never the client index: `connect` must not load the sign-in machinery to start.
import {
  type ChooseAuthorizerOptions,
  type ChosenAuthorizer,
  chooseAuthorizer,
} from '../client/interaction/choose.ts'
import type { PreRegisteredClient } from '../client/registration.ts'
import { Session, type SessionOptions } from '../client/session.ts'
import { openStore } from '../client/stores/open-store.ts'
import type { TokenStore } from '../client/stores/store.ts'
import { InvalidArgumentError, SPEC, UnsupportedRuntimeError } from '../shared/errors.ts'
import { redactInput, redactUrlsIn } from '../shared/redact.ts'
import { isLoopbackUrl } from '../shared/resource.ts'
import {
  AUTHORIZATION_SERVER_FLAGS,
  AUTHORIZATION_SERVER_FLAGS_HELP,
  type AuthorizationServerFlags,
  authorizationServerOptions,
} from './authorization-server-options.ts'
import { interactionMode } from './interaction-options.ts'

/** parseArgs option table for the shared flags. */
export const SESSION_FLAGS = {
  header: { type: 'string', multiple: true },
  'client-id': { type: 'string' },
  'client-secret-env': { type: 'string' },
  'client-info': { type: 'string' },
  'client-metadata-url': { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string' },
  'callback-port': { type: 'string' },
  'callback-host': { type: 'string' },
  'allow-http': { type: 'boolean' },
  'ca-file': { type: 'string', multiple: true },
  'device-code': { type: 'boolean' },
  'no-browser': { type: 'boolean' },
  'no-interaction': { type: 'boolean' },
  handoff: { type: 'boolean' },
  account: { type: 'string' },
  dpop: { type: 'string' },
  store: { type: 'string' },
  'store-dir': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  ...AUTHORIZATION_SERVER_FLAGS,
} as const

/** Help lines for the shared flags, one each. */
export const SESSION_FLAGS_HELP = `Session options:
  --header "Name: value"     extra HTTP header for the MCP server (repeatable; \${ENV} is expanded)
  --client-id ID             use a pre-registered client instead of registering one
  --client-secret-env NAME   read the pre-registered client's secret from environment variable NAME
  --client-info @FILE        pre-registered client as JSON ({"client_id", "client_secret"?, ...}); or inline JSON
  --client-metadata-url URL  this client's Client ID Metadata Document (https), used when the server supports it
  --scope "A B"              scopes to request instead of what the server asks for
  --resource URI             resource indicator to send instead of the one the server publishes
${AUTHORIZATION_SERVER_FLAGS_HELP}
  --callback-port N          fixed loopback port for the sign-in callback (pre-registered redirect URIs)
  --callback-host HOST       127.0.0.1 (default) or localhost, to match a pre-registered redirect URI
  --allow-http               allow http:// to non-loopback servers (never needed for localhost)
  --ca-file FILE             extra CA certificates (PEM) for corporate TLS or self-signed development servers
  --device-code              sign in with a device code instead of a browser (SSH, containers)
  --no-browser               do not open a browser; print the URL (and offer to paste the result)
  --handoff                  the browser is on another computer (SSH, containers): print the URL and the
                             \`ssh -L\` forward for the callback port, and take a pasted address as the fallback
                             (automatic over SSH without a display)
  --no-interaction           never ask a person (CI, scheduled jobs): use and refresh the stored session, or
                             exit with code 3 and the command to run where a browser is; also
                             MCP_OAUTH_NO_INTERACTION=1
  --dpop auto|never|always   DPoP-bound tokens (default auto: when the authorization server offers them);
                             never gives plain Bearer tokens, e.g. for \`mcp-oauth token\` in scripts
  --account NAME             one of several sessions with the same server (work, home…); default: the one
                             session kept before accounts; a named account's sign-in asks to authenticate again
  --store KIND               keychain | file | memory | auto (default auto: keychain, else encrypted file)
  --store-dir DIR            where the file store keeps its files (default: per-user config directory)
  --verbose, -v              progress on stderr (redacted: never a token)
HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured. BROWSER="command" opens sign-in pages with that command
(%s stands for the URL), also where there is no display (VS Code remote terminals set it).`

/** The parsed shared flags. */
export type SessionFlags = AuthorizationServerFlags & {
  header?: string[]
  'client-id'?: string
  'client-secret-env'?: string
  'client-info'?: string
  'client-metadata-url'?: string
  scope?: string
  resource?: string
  'callback-port'?: string
  'callback-host'?: string
  'allow-http'?: boolean
  'ca-file'?: string[]
  'device-code'?: boolean
  'no-browser'?: boolean
  'no-interaction'?: boolean
  handoff?: boolean
  account?: string
  dpop?: string
  store?: string
  'store-dir'?: string
  verbose?: boolean
  json?: boolean
  /** Not a flag: false for an mcp-remote argument list without --enable-proxy (mcp-remote ignores proxy variables then). */
  envProxy?: boolean
}

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_usage', message, { hint })
}

/** Parse argv with the shared flags plus a command's own; positionals are returned in order. */
export function parseCommandArgs<
  T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>,
>(args: string[], extra: T = {} as T) {
  try {
    // Not an ESM import: node:util's module namespace reads lazy getters that load modules on every start.
    const { parseArgs } = process.getBuiltinModule('node:util')
    return parseArgs({ args, options: { ...SESSION_FLAGS, ...extra }, allowPositionals: true, strict: true })
  } catch (e) {
    throw usageError((e as Error).message, 'Run the command with --help to see its options.')
  }
}

/** Expand ${NAME} from the environment in an argument's value; `argument` names it in the hint. */
export function expandEnv(
  value: string,
  env: Record<string, string | undefined> = process.env,
  argument = '--header',
): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name]
    if (v === undefined)
      throw usageError(
        `environment variable ${name} is not set`,
        `Set ${name} or change the ${argument} value.`,
      )
    return v
  })
}

/** `--header "Name: value"` list → header record. */
export function parseHeaders(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [n, h] of (list ?? []).entries()) {
    const i = h.indexOf(':')
    // The text is never echoed: a header without its name is most often a bare credential.
    if (i <= 0)
      throw usageError(
        `bad --header (number ${n + 1}): it has no "Name:" part (its text is not shown: it may hold a secret)`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax --header expands itself
        'Write headers as --header "Name: value", e.g. --header "Authorization: Bearer ${TOKEN}".',
      )
    out[h.slice(0, i).trim()] = expandEnv(h.slice(i + 1).trim())
  }
  return out
}

/** Load extra CA certificates and honour proxy variables for every fetch in this process. */
export function applyNetworkSettings(flags: SessionFlags): void {
  if (flags['ca-file']?.length) {
    const tls = process.getBuiltinModule('node:tls')
    // Added in Node 22.19 / 24.5; engines.node allows 22.18, where NODE_EXTRA_CA_CERTS does the same job.
    if (typeof tls.setDefaultCACertificates !== 'function') {
      throw new UnsupportedRuntimeError(
        'unsupported_runtime',
        `--ca-file needs Node.js 22.19 or newer (found ${process.versions.node}, which has no tls.setDefaultCACertificates)`,
        {
          spec: SPEC.nodeEngines,
          hint: `Set NODE_EXTRA_CA_CERTS=${flags['ca-file'][0]} in the environment instead of --ca-file, or install Node.js 22.19 or newer.`,
        },
      )
    }
    const extra = flags['ca-file'].map((f) => {
      try {
        return readFileSync(f, 'utf8')
      } catch {
        throw usageError(`cannot read --ca-file ${f}`, 'Pass a readable PEM file with the CA certificate(s).')
      }
    })
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...extra])
  }
  if (
    flags.envProxy !== false &&
    (process.env['HTTPS_PROXY'] ||
      process.env['https_proxy'] ||
      process.env['HTTP_PROXY'] ||
      process.env['http_proxy'])
  ) {
    // Added in Node 24.14 / 25.4; older ones apply the variables only when started with NODE_USE_ENV_PROXY=1.
    // Loaded here: an ESM import of node:http builds its namespace, which loads undici (slow start-up).
    const http = process.getBuiltinModule('node:http')
    if (typeof http.setGlobalProxyFromEnv === 'function') http.setGlobalProxyFromEnv()
    else if (process.env['NODE_USE_ENV_PROXY'] !== '1') {
      process.stderr.write(
        `mcp-oauth: HTTP(S)_PROXY is set but Node.js ${process.versions.node} cannot apply it at run time: set NODE_USE_ENV_PROXY=1 (Node.js 22.21 or newer) or use Node.js 24.14 or newer\n`,
      )
    }
  }
}

function preRegistered(flags: SessionFlags): PreRegisteredClient | undefined {
  if (flags['client-info']) {
    const raw = flags['client-info'].startsWith('@')
      ? readFileSync(flags['client-info'].slice(1), 'utf8')
      : flags['client-info']
    let info: PreRegisteredClient
    try {
      info = JSON.parse(raw) as PreRegisteredClient
    } catch {
      throw usageError('--client-info is not valid JSON', 'Pass JSON like {"client_id":"…"} or @file.json.')
    }
    if (typeof info.client_id !== 'string')
      throw usageError('--client-info has no client_id', 'Add "client_id" to the JSON.')
    return info
  }
  if (!flags['client-id']) return undefined
  const secretEnv = flags['client-secret-env']
  const secret = secretEnv ? process.env[secretEnv] : undefined
  if (secretEnv && secret === undefined) {
    throw usageError(
      `environment variable ${secretEnv} is not set`,
      `Export ${secretEnv} with the client secret.`,
    )
  }
  return { client_id: flags['client-id'], ...(secret ? { client_secret: secret } : {}) }
}

function dpopMode(v: string): 'auto' | 'never' | 'always' {
  if (v === 'auto' || v === 'never' || v === 'always') return v
  throw usageError(`bad --dpop ${v}`, 'Use --dpop auto, never or always.')
}

function callbackHost(h: string): '127.0.0.1' | 'localhost' | '::1' {
  if (h === '127.0.0.1' || h === 'localhost' || h === '::1') return h
  throw usageError(
    `bad --callback-host ${h}`,
    'Use 127.0.0.1, localhost or ::1 (the callback must stay on this machine).',
  )
}

/**
 * `$BROWSER` (the convention of gh, git and Python; VS Code remote terminals and Codespaces set it to a helper that
 * opens the URL on the person's machine) as a URL opener, display or not; `openBrowser` parses and runs it.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */
export function browserFromEnv(
  env: Record<string, string | undefined> = process.env,
): ((url: URL) => Promise<void>) | undefined {
  if (!env['BROWSER']?.trim()) return undefined
  return (url) => openBrowser(url, env)
}

/** Open the store named by `--store`/`--store-dir`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export async function openCliStore(
  flags: SessionFlags,
  stderr: { write(text: string): unknown } = process.stderr,
  access: { readOnly?: boolean } = {},
): Promise<TokenStore> {
  const kind = (flags.store ?? 'auto') as 'auto' | 'keychain' | 'file' | 'memory'
  if (!['auto', 'keychain', 'file', 'memory'].includes(kind)) {
    throw usageError(`unknown --store ${flags.store}`, 'Use --store keychain, file, memory or auto.')
  }
  return await openStore({
    kind,
    ...(flags['store-dir'] ? { dir: flags['store-dir'] } : {}),
    ...(access.readOnly ? { readOnly: true } : {}),
    log: (m: string) => void stderr.write(`${m.startsWith('mcp-oauth') ? m : `mcp-oauth: ${m}`}\n`),
  })
}

/** What a command gets: the session, its store and the authorizer to close at the end. */
export interface CliSession {
  session: Session
  store: TokenStore
  authorizer: ChosenAuthorizer
  headers: Record<string, string>
  close(): Promise<void>
}

/**
 * Build a session from the shared flags. Human output (progress, prompts) goes to `stderr` only.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function openSession(
  serverUrl: string | undefined,
  flags: SessionFlags,
  stderr: { write(text: string): unknown } = process.stderr,
  extra: Partial<SessionOptions> = {},
  interaction: Partial<ChooseAuthorizerOptions> = {},
): Promise<CliSession> {
  if (!serverUrl)
    throw usageError('missing the server URL', 'Pass the MCP server URL, e.g. https://mcp.example.com/mcp')
  let url: URL
  try {
    url = new URL(serverUrl)
  } catch {
    throw usageError(`not a URL: ${redactInput(serverUrl)}`, 'Pass the full URL, including https://')
  }
  rejectUserinfo(url)
  if (url.protocol === 'http:' && !isLoopbackUrl(url) && !flags['allow-http']) {
    throw usageError(
      `${url.origin} is plain http`,
      'Use https://, or pass --allow-http for a trusted development server.',
    )
  }
  applyNetworkSettings(flags)
  const log = flags.verbose ? (m: string) => void stderr.write(`mcp-oauth: ${redactUrlsIn(m)}\n`) : undefined
  const store = await openCliStore(flags, stderr)
  const port = flags['callback-port'] ? Number(flags['callback-port']) : undefined
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw usageError(`bad --callback-port ${flags['callback-port']}`, 'Pass a port between 1 and 65535.')
  }
  const openUrl = browserFromEnv()
  const authorizer = chooseAuthorizer({
    mode: interactionMode(flags, openUrl !== undefined),
    store,
    ...(openUrl ? { openUrl } : {}),
    ...(port ? { port } : {}),
    ...(flags['callback-host'] ? { host: callbackHost(flags['callback-host']) } : {}),
    output: process.stderr,
    ...interaction,
  })
  const pre = preRegistered(flags)
  const headers = parseHeaders(flags.header)
  const session = new Session({
    serverUrl: url.href,
    store,
    authorizer,
    ...(flags.scope ? { scope: flags.scope } : {}),
    ...(flags.resource ? { resource: flags.resource } : {}),
    ...(flags.dpop ? { dpop: dpopMode(flags.dpop) } : {}),
    ...(flags.account ? { account: flags.account, reauthenticate: true } : {}),
    ...authorizationServerOptions(flags),
    allowHttp: flags['allow-http'] ?? false,
    ...(log ? { log } : {}),
    ...extra,
    // Registration metadata a command adds (connect's --static-oauth-client-metadata) keeps the flags' client.
    identity: {
      client_name: 'mcp-oauth',
      ...extra.identity,
      ...(flags['client-metadata-url'] ? { clientMetadataUrl: flags['client-metadata-url'] } : {}),
      ...(pre ? { preRegistered: pre } : {}),
    },
  })
  return { session, store, authorizer, headers, close: () => authorizer.close() }
}

/**
 * A server URL with `user:password@` is refused before anything is sent: fetch cannot carry it, and echoing it
 * back would print the password.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1
 */
export function rejectUserinfo(url: URL): void {
  if (url.username || url.password)
    throw usageError(
      `the server URL ${redactInput(url.href)} carries a user name or password, which mcp-oauth never sends`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax --header expands itself
      'Remove the user name and password (the part before "@") from the URL; a credential the server needs besides OAuth goes in --header "Name: ${ENV_VAR}".',
    )
}
