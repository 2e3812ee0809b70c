/**
 * The authorized fetch: attach the token (Bearer or DPoP), turn a 401 into a refresh or a sign-in and a 403
 * `insufficient_scope` into step-up, then retry the request once. Plugs into the SDK transports' `fetch` option.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
import { McpOAuthError, OAuthResponseError, TransportError } from '../shared/errors.ts'
import { parseScope } from '../shared/scope.ts'
import { type McpChallenge, readMcpChallenge } from '../shared/www-authenticate.ts'
import { type FetchLike, networkError } from './http.ts'
import { Session, type SessionOptions } from './session.ts'
import type { TokenSet } from './tokens.ts'

/** DPoP proofs (jose) load with the first DPoP-bound token; Bearer sessions never read them. */
const dpopModule = () => import('./dpop.ts')

/** A request we may send more than once: its URL and an init whose body is replayable. */
interface Outgoing {
  url: string
  init: RequestInit
}

/** Normalize fetch arguments once; the SDK transports pass (url, init) with a string body, the fast path. */
async function outgoing(input: string | URL | Request, init?: RequestInit): Promise<Outgoing> {
  if (!(input instanceof Request) && (init?.body == null || typeof init.body === 'string')) {
    return { url: String(input), init: init ?? {} }
  }
  const request = new Request(input, init)
  const body = request.body ? await request.arrayBuffer() : undefined
  return {
    url: request.url,
    init: {
      method: request.method,
      headers: request.headers,
      ...(body ? { body } : {}),
      signal: request.signal,
      redirect: request.redirect,
    },
  }
}

/**
 * Whether `url` belongs to the MCP server: its origin. The legacy HTTP+SSE transport posts to an endpoint
 * the server names on its own origin (the SDK refuses any other), so the boundary is the origin, never wider.
 */
function isForServer(url: string, server: string): boolean {
  try {
    return new URL(url).origin === new URL(server).origin
  } catch {
    return false
  }
}

/** The server's challenge; a malformed header is logged and treated as absent (well-known discovery still works). */
function challengeOf(response: Response, session: Session): McpChallenge | undefined {
  try {
    return readMcpChallenge(response.headers, { preferDpop: Boolean(session.dpopKey) })
  } catch (e) {
    session.log(
      `ignored a malformed WWW-Authenticate header (${e instanceof McpOAuthError ? e.code : String(e)})`,
    )
    return undefined
  }
}

/** How an {@link authorizedFetch} answers a 401/403. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage */
export interface AuthorizedFetchOptions {
  /**
   * false: a 401 is met with a refresh when the session has a refresh token, never with a sign-in or step-up, and
   * the refused answer is returned (for courtesy requests such as a session's closing DELETE). Default true.
   */
  signIn?: boolean
}

/** A fetch bound to a session, with the session reachable for status/logout. */
export type AuthorizedFetch = FetchLike & { session: Session }

/**
 * Create an authorized fetch for one MCP server (or wrap an existing session).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
export function authorizedFetch(
  sessionOrOptions: Session | SessionOptions,
  options: AuthorizedFetchOptions = {},
): AuthorizedFetch {
  const signIn = options.signIn ?? true
  const session = sessionOrOptions instanceof Session ? sessionOrOptions : new Session(sessionOrOptions)
  const base = session.options.fetch ?? globalThis.fetch
  const stepUps = new Map<string, number>()
  // A bridge posts to one URL thousands of times: remember the last verdict rather than parse both URLs each time.
  let checkedUrl = ''
  const forServer = (url: string) => {
    if (url === checkedUrl) return true
    if (!isForServer(url, session.server)) return false
    checkedUrl = url
    return true
  }

  async function send(request: Outgoing, tokens: TokenSet | undefined): Promise<Response> {
    const headers = new Headers(request.init.headers)
    const dpop = tokens && tokens.token_type.toLowerCase() === 'dpop' ? session.dpopKey : undefined
    if (tokens) headers.set('authorization', `${dpop ? 'DPoP' : 'Bearer'} ${tokens.access_token}`)
    const proofs = dpop ? await dpopModule() : undefined
    for (let nonceRetry = 0; ; nonceRetry++) {
      if (proofs && dpop && tokens)
        headers.set(
          'dpop',
          await proofs.resourceProof(dpop, request.init.method ?? 'GET', request.url, tokens.access_token),
        )
      let response: Response
      try {
        response = await base(request.url, { ...request.init, headers })
      } catch (cause) {
        if (cause instanceof Error && cause.name === 'AbortError') throw cause
        // A dropped connection is a network problem, never "needs authentication".
        throw networkError(cause, request.url)
      }
      if (!proofs) return response
      proofs.rememberNonce(request.url, response)
      if (nonceRetry === 0 && proofs.isResourceNonceChallenge(response)) {
        await response.body?.cancel().catch(() => {})
        continue
      }
      return response
    }
  }

  async function run(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = await outgoing(input, init)
    // The token is for this server only: other origins get the request untouched (MCP: no token passthrough).
    if (!forServer(request.url)) return base(request.url, request.init)
    const tokens = await session.tokens()
    const response = await send(request, tokens)
    if (response.status !== 401 && response.status !== 403) return response
    const challenge = challengeOf(response, session)
    if (response.status === 403) {
      if (!signIn) return response
      if (challenge?.error !== 'insufficient_scope') {
        session.log(
          `403 without insufficient_scope (${challenge?.error ?? 'no Bearer/DPoP challenge'}); not stepping up`,
        )
        return response
      }
      // Step-up: a refresh can never widen scope, so re-authorize with the union of granted and challenged.
      const op = `${request.init.method ?? 'GET'} ${request.url} ${challenge.scope ?? ''}`
      const tries = stepUps.get(op) ?? 0
      if (tries >= (session.options.maxStepUps ?? 2)) {
        session.log(`still 403 after ${tries} step-up attempts; giving up on this operation`)
        return response
      }
      stepUps.set(op, tries + 1)
      await response.body?.cancel().catch(() => {})
      const next = await session.authorize({
        reason: 'step-up',
        challengedScope: challenge.scope,
        resourceMetadataUrl: challenge.resource_metadata,
        rejected: tokens,
      })
      const retried = await send(request, next)
      if (retried.status !== 403) stepUps.delete(op)
      return retried
    }
    await response.body?.cancel().catch(() => {})
    if (tokens?.refresh_token) {
      try {
        const refreshed = await session.refresh(tokens)
        const retried = await send(request, refreshed)
        if (retried.status !== 401) return retried
        await retried.body?.cancel().catch(() => {})
      } catch (e) {
        if (e instanceof TransportError || !(e instanceof McpOAuthError)) throw e
        session.log(
          `refresh failed (${e instanceof OAuthResponseError ? e.error : e.code}); signing in again`,
        )
      }
    }
    if (!signIn) return new Response(null, { status: response.status, headers: response.headers })
    const next = await session.authorize({
      reason: tokens ? 'reauthorize' : 'login',
      challengedScope: challenge?.scope,
      resourceMetadataUrl: challenge?.resource_metadata,
      rejected: tokens,
    })
    const retried = await send(request, next)
    if (retried.status === 403) {
      const c = challengeOf(retried, session)
      if (
        c?.error === 'insufficient_scope' &&
        parseScope(c.scope).some((s) => !parseScope(next.scope).includes(s))
      ) {
        await retried.body?.cancel().catch(() => {})
        return run(request.url, request.init)
      }
    }
    return retried
  }

  return Object.assign(run, { session })
}
