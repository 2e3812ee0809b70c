/**
 * The token endpoint: client authentication, code exchange, refresh, client credentials, jwt-bearer,
 * token exchange (ID-JAG) and revocation, with DPoP and its nonce retry.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5
 */
import type { webcrypto } from 'node:crypto'
import { importPKCS8 } from 'jose'
import * as oauth from 'oauth4webapi'
import type { AuthorizationServerMetadata } from '../shared/authorization-server.ts'
import { OAuthResponseError, ProtocolViolationError, SPEC } from '../shared/errors.ts'
import type { DpopKey } from './dpop.ts'
import { type FetchLike, readLimited } from './http.ts'
import { mapError, type O4wPolicy, requestOptions } from './o4w.ts'
import type { ClientInfo } from './registration.ts'

/** Tokens as stored: never logged, never printed. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1 */
export interface TokenSet {
  access_token: string
  token_type: string
  /** Epoch ms. */
  expires_at?: number
  refresh_token?: string
  /** Granted scope (the requested one when the AS did not say). */
  scope?: string
  issued_at: number
}

/** What every token call needs. */
export interface TokenContext {
  metadata: AuthorizationServerMetadata
  client: ClientInfo
  policy: O4wPolicy
  dpop?: DpopKey | undefined
  signal?: AbortSignal | undefined
}

const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

function as(ctx: TokenContext): oauth.AuthorizationServer {
  return ctx.metadata as oauth.AuthorizationServer
}

function o4wClient(ctx: TokenContext): oauth.Client {
  return {
    client_id: ctx.client.client_id,
    token_endpoint_auth_method: ctx.client.token_endpoint_auth_method,
  }
}

/** oauth4webapi client authentication for a client. @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export async function clientAuth(client: ClientInfo): Promise<oauth.ClientAuth> {
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic':
      return basicAuth(client.client_id, client.client_secret ?? '')
    case 'client_secret_post':
      return oauth.ClientSecretPost(client.client_secret ?? '')
    case 'private_key_jwt': {
      const alg = client.signing_algorithm ?? 'ES256'
      const key = (await importPKCS8(client.private_key_pem ?? '', alg)) as webcrypto.CryptoKey
      return oauth.PrivateKeyJwt(key)
    }
    default:
      return oauth.None()
  }
}

/** RFC 6749 §2.3.1 form-encoding, leaving RFC 3986 unreserved characters as they are (many servers never decode). */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** HTTP Basic client authentication. @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 */
function basicAuth(clientId: string, secret: string): oauth.ClientAuth {
  // btoa, not Buffer: the engine also runs in browsers; both halves are form-encoded ASCII.
  const credentials = btoa(`${formEncode(clientId)}:${formEncode(secret)}`)
  return (_as, _client, _body, headers) => {
    headers.set('authorization', `Basic ${credentials}`)
  }
}

/** A token answer is small; more is refused like any oversized document. */
const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024

/**
 * Token endpoints that answer 200 with something other than a token: GitHub answers form-encoded unless asked
 * for JSON (oauth4webapi sends `Accept: application/json`, so this names a server that ignores it), and some
 * answer `{"error": …}` with 200. Both become typed errors instead of "access_token must be a string".
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function checkedTokenFetch(base: FetchLike): FetchLike {
  return async (input, init) => {
    const response = await base(input, init)
    if (response.status !== 200) return response
    const type = (response.headers.get('content-type') ?? '').toLowerCase()
    if (type.includes('json')) {
      const body = (await response
        .clone()
        .json()
        .catch(() => undefined)) as Record<string, unknown> | undefined
      if (body && typeof body['error'] === 'string' && body['access_token'] === undefined)
        throw errorIn200(body['error'], body['error_description'])
      return response
    }
    if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('text/plain'))
      return response
    const form = new URLSearchParams(await readLimited(response, MAX_TOKEN_RESPONSE_BYTES).catch(() => ''))
    const error = form.get('error')
    if (error) throw errorIn200(error, form.get('error_description'))
    throw new ProtocolViolationError(
      'token_response_not_json',
      `the token endpoint answered ${type.split(';')[0]} instead of JSON`,
      {
        spec: 'https://www.rfc-editor.org/rfc/rfc6749#section-5.1',
        hint: 'The server ignored Accept: application/json (GitHub-style OAuth apps answer form-encoded without it); report it to its operator.',
      },
    )
  }
}

function errorIn200(error: string, description: unknown): OAuthResponseError {
  return new OAuthResponseError(error, typeof description === 'string' ? description : undefined, {
    status: 200,
    spec: 'https://www.rfc-editor.org/rfc/rfc6749#section-5.2',
    hint:
      error === 'bad_verification_code' || error === 'invalid_grant'
        ? 'The authorization code was refused (expired or used); sign in again (mcp-oauth login <url>).'
        : 'The token endpoint refused the request (with HTTP 200); see error_description, or run mcp-oauth doctor <url>.',
  })
}

function options(ctx: TokenContext, extra: Record<string, string | undefined>) {
  const additionalParameters: Record<string, string> = {}
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) additionalParameters[k] = v
  const policy = { ...ctx.policy, fetch: checkedTokenFetch(ctx.policy.fetch ?? globalThis.fetch) }
  return {
    ...requestOptions(ctx.metadata.token_endpoint, policy, ctx.signal),
    additionalParameters,
    ...(ctx.dpop ? { DPoP: dpopHandle(ctx) } : {}),
  }
}

function grantOptions(ctx: TokenContext) {
  const { additionalParameters: _unused, ...rest } = options(ctx, {})
  return rest
}

const handles = new WeakMap<DpopKey, Map<string, oauth.DPoPHandle>>()
function dpopHandle(ctx: TokenContext): oauth.DPoPHandle {
  const key = ctx.dpop!
  let byClient = handles.get(key)
  if (!byClient) {
    byClient = new Map()
    handles.set(key, byClient)
  }
  let h = byClient.get(ctx.client.client_id)
  if (!h) {
    h = oauth.DPoP(o4wClient(ctx), key.keyPair)
    byClient.set(ctx.client.client_id, h)
  }
  return h
}

/** Run a token request, retrying once with the nonce a DPoP-protected AS asked for. @see https://www.rfc-editor.org/rfc/rfc9449#section-8 */
async function withNonceRetry<T>(ctx: TokenContext, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (ctx.dpop && oauth.isDPoPNonceError(e)) {
      try {
        return await run()
      } catch (e2) {
        throw mapError(e2, what)
      }
    }
    throw mapError(e, what)
  }
}

function toTokenSet(r: oauth.TokenEndpointResponse, requestedScope?: string, previous?: TokenSet): TokenSet {
  const now = Date.now()
  const t: TokenSet = { access_token: r.access_token, token_type: r.token_type, issued_at: now }
  if (typeof r.expires_in === 'number') t.expires_at = now + r.expires_in * 1000
  // RFC 6749 §6: no refresh_token in a refresh response means the old one stays valid.
  const rt = r.refresh_token ?? previous?.refresh_token
  if (rt) t.refresh_token = rt
  const scope = r.scope ?? requestedScope ?? previous?.scope
  if (scope) t.scope = scope
  return t
}

/**
 * Exchange an authorization code (PKCE verifier, `resource`) for tokens.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function exchangeCode(
  ctx: TokenContext,
  params: {
    callback: URLSearchParams
    redirectUri: string
    codeVerifier: string
    resource: string | undefined
    scope?: string
  },
): Promise<TokenSet> {
  const auth = await clientAuth(ctx.client)
  const validated = params.callback as unknown as ReturnType<typeof oauth.validateAuthResponse>
  return withNonceRetry(ctx, 'code exchange', async () => {
    const res = await oauth.authorizationCodeGrantRequest(
      as(ctx),
      o4wClient(ctx),
      auth,
      validated,
      params.redirectUri,
      params.codeVerifier,
      options(ctx, { resource: params.resource }),
    )
    return toTokenSet(
      await oauth.processAuthorizationCodeResponse(as(ctx), o4wClient(ctx), res),
      params.scope,
    )
  })
}

/**
 * Refresh, keeping the old refresh token when none is returned; `resource` is sent again.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshTokens(
  ctx: TokenContext,
  previous: TokenSet,
  resource: string | undefined,
): Promise<TokenSet> {
  const auth = await clientAuth(ctx.client)
  return withNonceRetry(ctx, 'token refresh', async () => {
    const res = await oauth.refreshTokenGrantRequest(
      as(ctx),
      o4wClient(ctx),
      auth,
      previous.refresh_token!,
      options(ctx, { resource }),
    )
    return toTokenSet(
      await oauth.processRefreshTokenResponse(as(ctx), o4wClient(ctx), res),
      undefined,
      previous,
    )
  })
}

/**
 * The client credentials grant (machine-to-machine). @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function clientCredentials(
  ctx: TokenContext,
  scope: string | undefined,
  resource: string | undefined,
) {
  const auth = await clientAuth(ctx.client)
  return withNonceRetry(ctx, 'client credentials grant', async () => {
    const params = new URLSearchParams(resource === undefined ? {} : { resource })
    if (scope) params.set('scope', scope)
    const res = await oauth.clientCredentialsGrantRequest(
      as(ctx),
      o4wClient(ctx),
      auth,
      params,
      options(ctx, {}),
    )
    return toTokenSet(await oauth.processClientCredentialsResponse(as(ctx), o4wClient(ctx), res), scope)
  })
}

/**
 * RFC 7523 jwt-bearer grant: trade an assertion (workload identity, ID-JAG) for an access token.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 */
export async function jwtBearer(
  ctx: TokenContext,
  assertion: string,
  scope: string | undefined,
  resource: string | undefined,
) {
  const auth = await clientAuth(ctx.client)
  return withNonceRetry(ctx, 'jwt-bearer grant', async () => {
    const params = new URLSearchParams({ assertion, ...(resource === undefined ? {} : { resource }) })
    if (scope) params.set('scope', scope)
    if (ctx.client.token_endpoint_auth_method === 'none') params.set('client_id', ctx.client.client_id)
    const res = await oauth.genericTokenEndpointRequest(
      as(ctx),
      o4wClient(ctx),
      auth,
      GRANT_JWT_BEARER,
      params,
      grantOptions(ctx),
    )
    return toTokenSet(await oauth.processGenericTokenEndpointResponse(as(ctx), o4wClient(ctx), res), scope)
  })
}

/**
 * RFC 8693 token exchange at an enterprise IdP: an ID token for an Identity Assertion JWT Authorization Grant.
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1
 */
export async function exchangeForIdJag(
  ctx: TokenContext,
  p: { subjectToken: string; subjectTokenType: string; audience: string; resource: string; scope?: string },
): Promise<string> {
  const auth = await clientAuth(ctx.client)
  return withNonceRetry(ctx, 'token exchange', async () => {
    const params = new URLSearchParams({
      requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      subject_token: p.subjectToken,
      subject_token_type: p.subjectTokenType,
      audience: p.audience,
      resource: p.resource,
    })
    if (p.scope) params.set('scope', p.scope)
    const res = await oauth.genericTokenEndpointRequest(
      as(ctx),
      o4wClient(ctx),
      auth,
      GRANT_TOKEN_EXCHANGE,
      params,
      grantOptions(ctx),
    )
    // An ID-JAG comes back with token_type "N_A" (RFC 8693 §2.2.1): it is an assertion, not an access token.
    const body = await oauth.processGenericTokenEndpointResponse(as(ctx), o4wClient(ctx), res, {
      recognizedTokenTypes: { n_a: () => {} },
    })
    return body.access_token
  })
}

/**
 * Revoke a token at logout (RFC 7009); a missing endpoint is not an error.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function revokeToken(ctx: TokenContext, token: string, hint: 'access_token' | 'refresh_token') {
  if (!ctx.metadata.revocation_endpoint) return false
  const auth = await clientAuth(ctx.client)
  try {
    const res = await oauth.revocationRequest(as(ctx), o4wClient(ctx), auth, token, {
      ...requestOptions(ctx.metadata.revocation_endpoint, ctx.policy, ctx.signal),
      additionalParameters: { token_type_hint: hint },
    })
    await oauth.processRevocationResponse(res)
    return true
  } catch (e) {
    throw mapError(e, 'revocation', SPEC.rfc7009)
  }
}
