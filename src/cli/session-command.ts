/**
 * What the session commands (login, logout, status, token, tools, call) share: exit codes, error unwrapping
 * (the SDK wraps what our fetch throws), the unauthenticated probe that reads the server's challenge, and the
 * SDK v2 client over the authorized fetch.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { Client } from '@modelcontextprotocol/client'
import type { AuthorizeContext } from '../client/authorizer.ts'
import { authorizedFetch } from '../client/fetch.ts'
import { type FetchLike, networkError } from '../client/http.ts'
import type { ChooseAuthorizerOptions } from '../client/interaction/choose.ts'
import { formatRemaining } from '../client/interaction/device-code.ts'
import type { Session, SessionOptions } from '../client/session.ts'
import {
  InteractionRequiredError,
  InvalidArgumentError,
  isMcpOAuthError,
  McpOAuthError,
  SPEC,
} from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'
import { readMcpChallenge } from '../shared/www-authenticate.ts'
import { type CliIo, describeError } from './main.ts'
import { notAnMcpEndpoint, notMcpAnswer } from './mcp-endpoint.ts'
import { type CliSession, openSession, type SessionFlags } from './options.ts'
import { type SignInShape, signInCommandFor } from './sign-in-command.ts'

/** Exit codes of the session commands (docs/cli.md). */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2, signInRequired: 3 } as const

/** What the demo and tests may inject instead of what the flags would build (same store, own browser). */
export type SessionOverrides = Partial<Pick<SessionOptions, 'store' | 'authorizer'>>

/** The first mcp-oauth error in an error's cause chain (the SDK wraps errors thrown by the transport's fetch). */
export function findOAuthError(error: unknown): McpOAuthError | undefined {
  let e: unknown = error
  for (let depth = 0; depth < 6 && e; depth++) {
    if (isMcpOAuthError(e)) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * Runs a command body, mapping failures to the documented exit codes: usage errors 2, a sign-in that needs a
 * person who cannot be asked 3, anything else 1; the message and the next step go to stderr.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function guard(name: string, io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (error) {
    const found = findOAuthError(error)
    if (!found) throw error
    io.stderr.write(`${describeError(name, found)}\n`)
    if (found instanceof InvalidArgumentError) return EXIT_CODES.usage
    if (found instanceof InteractionRequiredError) return EXIT_CODES.signInRequired
    return EXIT_CODES.failure
  }
}

/** A usage error with a hint naming the command's help. */
export function usageError(name: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_usage', message, {
    hint: `Run \`mcp-oauth ${name} --help\` for usage.`,
  })
}

/** The positionals a command takes (`required` then `optional`), else a usage error naming what is missing. */
export function expectPositionals(
  name: string,
  positionals: string[],
  required: string[],
  optional: string[] = [],
): void {
  const missing = required[positionals.length]
  if (missing) throw usageError(name, `missing <${missing}>`)
  const extra = positionals[required.length + optional.length]
  if (extra !== undefined) throw usageError(name, `unexpected argument "${extra.slice(0, 60)}"`)
}

/** What the unauthenticated probe learned. */
export interface Probe {
  status: number
  scope?: string | undefined
  resourceMetadataUrl?: string | undefined
}

/**
 * Sends one unauthenticated MCP request to read the server's 401 challenge (its `scope` and `resource_metadata`
 * drive scope selection and discovery, exactly as a first request of `connect` would).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
export async function probeChallenge(server: string, headers: Record<string, string>): Promise<Probe> {
  let response: Response
  try {
    response = await fetch(server, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'mcp-oauth', version: '0' },
        },
      }),
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    })
  } catch (cause) {
    throw networkError(cause, server)
  }
  const problem = await notMcpAnswer(response)
  if (problem) throw notAnMcpEndpoint(server, problem)
  await response.body?.cancel().catch(() => {})
  const challenge = response.status === 401 ? readMcpChallenge(response.headers) : undefined
  return {
    status: response.status,
    scope: challenge?.scope,
    resourceMetadataUrl: challenge?.resource_metadata,
  }
}

/**
 * Signs in interactively (login, or token without a session): probe, then the engine's authorization.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */
export async function signIn(cli: CliSession) {
  const url = cli.session.options.serverUrl
  const probe = await probeChallenge(url, cli.headers)
  cli.session.log(`server answered ${probe.status}${probe.scope ? ` asking for scope "${probe.scope}"` : ''}`)
  if (probe.status >= 500) {
    // Signing in for a URL that does not work would only mint a useless token.
    const where = redactUrl(url)
    throw new McpOAuthError('server_error', `${where} answered HTTP ${probe.status} to an MCP request`, {
      spec: SPEC.mcpHttp,
      hint: `The server failed: retry later or tell its operator; if the URL may be wrong, run \`mcp-oauth doctor ${where}\`.`,
      details: { status: probe.status },
    })
  }
  return await cli.session.authorize({
    reason: 'login',
    challengedScope: probe.scope,
    resourceMetadataUrl: probe.resourceMetadataUrl,
  })
}

/**
 * A fetch that checks the first answer to an MCP POST and names a URL that is no MCP endpoint, instead of the
 * SDK's bare "Error POSTing to endpoint: Not Found".
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export function checkedMcpFetch(base: FetchLike, server: string): FetchLike {
  let checked = false
  return async (input, init) => {
    const response = await base(input, init)
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET')
    if (
      checked ||
      method !== 'POST' ||
      redactUrl(String(input instanceof Request ? input.url : input)) !== redactUrl(server)
    )
      return response
    checked = true
    const problem = await notMcpAnswer(response)
    if (!problem) return response
    await response.body?.cancel().catch(() => {})
    throw notAnMcpEndpoint(server, problem)
  }
}

/**
 * An SDK v2 client connected through the authorized fetch (version negotiated: 2026-07-28 or 2025 servers).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export async function connectClient(session: Session, headers: Record<string, string>): Promise<Client> {
  // Loaded here, not at the top: `connect` shares this file and must not pay for the SDK (and zod) at start-up.
  const { Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client')
  const client = new Client({ name: 'mcp-oauth', version: '0.1.0' }, { versionNegotiation: { mode: 'auto' } })
  const transport = new StreamableHTTPClientTransport(new URL(session.options.serverUrl), {
    fetch: checkedMcpFetch(authorizedFetch(session), session.options.serverUrl),
    requestInit: { headers },
  })
  await client.connect(transport)
  return client
}

/**
 * While a browser sign-in is pending, keep one line on a terminal's stderr saying so, with the time waited
 * (the device-code path has its own countdown; paste prompts and non-terminals are left alone).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function showBrowserWait(
  cli: CliSession,
  stderr: { write(text: string): unknown; isTTY?: boolean },
): void {
  const authorizer = cli.session.options.authorizer
  if (!stderr.isTTY || authorizer !== cli.authorizer || cli.authorizer.mode !== 'browser') return
  const authorize = authorizer.authorize.bind(authorizer)
  authorizer.authorize = async (url: URL, context: AuthorizeContext) => {
    const started = Date.now()
    const timer = setInterval(() => {
      const waited = formatRemaining((Date.now() - started) / 1000)
      stderr.write(`\r\u001b[2K  waiting for the sign-in in your browser… ${waited} (Ctrl-C cancels)`)
    }, 1000)
    timer.unref()
    try {
      return await authorize(url, context)
    } finally {
      clearInterval(timer)
      stderr.write('\r\u001b[2K')
    }
  }
}

/** What a command adds to the shared flags (login's mcp-remote arguments): session options, interaction, callback path. */
export interface SessionShape {
  extra?: Partial<SessionOptions>
  interaction?: Partial<ChooseAuthorizerOptions>
  shape?: SignInShape
}

/**
 * The interaction options of a CLI session: hints name `mcp-oauth login` for the URL as given with the flags that
 * shaped this sign-in (the library knows no flag names).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
export function cliInteraction(
  url: string | undefined,
  flags: SessionFlags,
  more: SessionShape = {},
): Partial<ChooseAuthorizerOptions> {
  return { ...more.interaction, ...(url ? { signInCommand: signInCommandFor(url, flags, more.shape) } : {}) }
}

/**
 * Opens the session for `url` (with the browser wait on a terminal), runs `body` with it and closes it whatever
 * happens: the frame of login, token, tools and call.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function withSession<T>(
  url: string | undefined,
  flags: SessionFlags,
  io: CliIo,
  overrides: SessionOverrides,
  body: (cli: CliSession) => Promise<T>,
  more: SessionShape = {},
): Promise<T> {
  const cli = await openSession(
    url,
    flags,
    io.stderr,
    { ...more.extra, ...overrides },
    cliInteraction(url, flags, more),
  )
  showBrowserWait(cli, io.stderr)
  try {
    return await body(cli)
  } finally {
    await cli.close()
  }
}

/**
 * Runs `body` with an SDK v2 client connected over the session's authorized fetch, closing the client after.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export async function withClient<T>(cli: CliSession, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(cli.session, cli.headers)
  try {
    return await body(client)
  } finally {
    await client.close()
  }
}
