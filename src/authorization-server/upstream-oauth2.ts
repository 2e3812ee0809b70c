/**
 * Sign-in at a plain OAuth 2.0 provider (GitHub): no discovery, no ID token. Authorization code with PKCE (S256)
 * and state; the token request asks for JSON and also reads the form encoding; who signed in comes from the
 * provider's user API, called once with the access token. Every request goes through the outbound fetch
 * (https only, time and size limits).
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
import { McpOAuthError, SPEC } from '../shared/errors.ts'
import { parseTokenResponse, type UpstreamEndpoints } from './upstream-presets.ts'

/** Why an upstream sign-in failed, with what to do next; rendered as an error page. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 */
export class UpstreamLoginError extends McpOAuthError {}

/** The stable codes of {@link UpstreamLoginError}. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 */
export type UpstreamFailure =
  | 'upstream_denied'
  | 'upstream_state_invalid'
  | 'upstream_token_error'
  | 'upstream_user_error'
  | 'upstream_unavailable'

/** Builds an {@link UpstreamLoginError}. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 */
export function upstreamError(
  code: UpstreamFailure,
  message: string,
  hint: string,
  cause?: unknown,
): UpstreamLoginError {
  return new UpstreamLoginError(code, message, {
    spec: SPEC.rfc6749,
    hint,
    ...(cause === undefined ? {} : { cause }),
  })
}

/** Tokens the provider returned (kept only when the operator asks). @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1 */
export interface UpstreamTokenSet {
  access_token: string
  token_type?: string
  refresh_token?: string
  id_token?: string
  scope?: string
  /** Seconds since the epoch, from `expires_in`. */
  expires_at?: number
}

/** Who signed in, as the provider's user API describes them. @see https://docs.github.com/en/rest/users/users#get-the-authenticated-user */
export interface UpstreamIdentity {
  /** Claims in OpenID names where they exist (`sub`, `name`, `email`, `email_verified`), plus the API's own. */
  claims: Record<string, unknown>
  tokens: UpstreamTokenSet
}

/** Input of {@link oauth2AuthorizationUrl}. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 */
export interface OAuth2Request {
  clientId: string
  redirectUri: string
  scope: string
  state: string
  codeChallenge: string
  extra?: Record<string, string> | undefined
}

/**
 * The provider's authorization URL with PKCE S256 and state.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function oauth2AuthorizationUrl(endpoints: UpstreamEndpoints, request: OAuth2Request): URL {
  const url = new URL(endpoints.authorization)
  for (const [k, v] of Object.entries(request.extra ?? {})) url.searchParams.set(k, v)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', request.clientId)
  url.searchParams.set('redirect_uri', request.redirectUri)
  url.searchParams.set('scope', request.scope)
  url.searchParams.set('state', request.state)
  url.searchParams.set('code_challenge', request.codeChallenge)
  url.searchParams.set('code_challenge_method', 'S256')
  return url
}

const HINT_TOKEN = 'check the upstream client id and MCP_OAUTH_UPSTREAM_CLIENT_SECRET, then sign in again'
const HINT_UNAVAILABLE = 'check that the provider is reachable from this server (and its --upstream-base-url)'

async function readText(response: Response): Promise<string> {
  try {
    return await response.text()
  } catch (error) {
    throw upstreamError(
      'upstream_unavailable',
      'the provider answer was cut off or too large',
      HINT_UNAVAILABLE,
      error,
    )
  }
}

/**
 * Exchanges the code (client secret in the body, as GitHub documents) and reads the answer, JSON or form.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function exchangeOAuth2Code(
  fetcher: typeof fetch,
  endpoints: UpstreamEndpoints,
  input: {
    clientId: string
    clientSecret?: string | undefined
    code: string
    redirectUri: string
    verifier: string
  },
): Promise<UpstreamTokenSet> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectUri,
    client_id: input.clientId,
    code_verifier: input.verifier,
  })
  if (input.clientSecret) body.set('client_secret', input.clientSecret)
  let response: Response
  try {
    response = await fetcher(endpoints.token, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'mcp-oauth',
      },
      body: body.toString(),
    })
  } catch (error) {
    throw upstreamError(
      'upstream_unavailable',
      `the provider's token endpoint could not be reached: ${(error as Error).message.slice(0, 120)}`,
      HINT_UNAVAILABLE,
      error,
    )
  }
  const text = await readText(response)
  let answer: Record<string, unknown>
  try {
    answer = parseTokenResponse(response.headers.get('content-type') ?? '', text)
  } catch (error) {
    throw upstreamError(
      'upstream_token_error',
      `the provider's token answer (status ${response.status}) could not be read: ${(error as Error).message}`,
      HINT_TOKEN,
    )
  }
  // GitHub reports a bad code or secret with status 200 and an `error` field.
  if (typeof answer['error'] === 'string' || !response.ok) {
    const error =
      typeof answer['error'] === 'string' ? answer['error'].slice(0, 60) : `status ${response.status}`
    const description =
      typeof answer['error_description'] === 'string' ? `: ${answer['error_description'].slice(0, 160)}` : ''
    throw upstreamError(
      'upstream_token_error',
      `the provider refused the code: ${error}${description}`,
      HINT_TOKEN,
    )
  }
  const accessToken = answer['access_token']
  if (typeof accessToken !== 'string' || !accessToken)
    throw upstreamError('upstream_token_error', 'the provider answered without an access token', HINT_TOKEN)
  const expiresIn = Number(answer['expires_in'])
  const text_ = (k: string) =>
    typeof answer[k] === 'string' && answer[k] ? { [k]: answer[k] as string } : {}
  return {
    access_token: accessToken,
    ...text_('token_type'),
    ...text_('refresh_token'),
    ...text_('scope'),
    ...(Number.isFinite(expiresIn) && expiresIn > 0
      ? { expires_at: Math.floor(Date.now() / 1000) + expiresIn }
      : {}),
  }
}

async function getJson(fetcher: typeof fetch, url: string, accessToken: string): Promise<unknown> {
  let response: Response
  try {
    response = await fetcher(url, {
      headers: {
        accept: 'application/vnd.github+json, application/json',
        authorization: `Bearer ${accessToken}`,
        'user-agent': 'mcp-oauth',
      },
    })
  } catch (error) {
    throw upstreamError(
      'upstream_unavailable',
      `the provider's user API could not be reached: ${(error as Error).message.slice(0, 120)}`,
      HINT_UNAVAILABLE,
      error,
    )
  }
  const text = await readText(response)
  if (!response.ok)
    throw upstreamError(
      'upstream_user_error',
      `the provider's user API answered status ${response.status}`,
      'check the scopes granted to this server at the provider (--upstream-scopes), then sign in again',
    )
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw upstreamError('upstream_user_error', "the provider's user API answered no JSON", HINT_UNAVAILABLE)
  }
}

/**
 * Reads who signed in from GitHub's REST API: `id` (numeric, never reused) names the account, `login` and
 * `name` are for display; the primary address only when GitHub marks it verified.
 * @see https://docs.github.com/en/rest/users/users#get-the-authenticated-user
 */
export async function readGithubIdentity(
  fetcher: typeof fetch,
  endpoints: UpstreamEndpoints,
  tokens: UpstreamTokenSet,
): Promise<UpstreamIdentity> {
  const user = (await getJson(fetcher, endpoints.user, tokens.access_token)) as Record<string, unknown> | null
  const id = user?.['id']
  if (
    user === null ||
    typeof user !== 'object' ||
    !(typeof id === 'number' || typeof id === 'string') ||
    id === ''
  )
    throw upstreamError(
      'upstream_user_error',
      "the provider's user API named no account id",
      HINT_UNAVAILABLE,
    )
  const login = typeof user['login'] === 'string' ? user['login'] : undefined
  const claims: Record<string, unknown> = {
    ...user,
    sub: String(id),
    id: String(id),
    name: typeof user['name'] === 'string' && user['name'] ? user['name'] : login,
  }
  delete claims['email']
  // The address is optional: a token without user:email, or a failing endpoint, still signs the person in.
  if (endpoints.emails) {
    const list = await getJson(fetcher, endpoints.emails, tokens.access_token).catch(() => undefined)
    const primary = Array.isArray(list)
      ? (list as Record<string, unknown>[]).find((e) => e?.['primary'] === true && e['verified'] === true)
      : undefined
    if (typeof primary?.['email'] === 'string') {
      claims['email'] = primary['email']
      claims['email_verified'] = true
    }
  }
  return { claims, tokens }
}
