/**
 * How the engine calls oauth4webapi: transport options (timeouts, loopback http, custom fetch)
 * and the mapping of its errors onto ours.
 * @see https://github.com/panva/oauth4webapi
 */
import * as oauth from 'oauth4webapi'
import {
  McpOAuthError,
  OAuthResponseError,
  ProtocolViolationError,
  SPEC,
  TransportError,
} from '../shared/errors.ts'
import { classifyNetworkFailure, describeNetworkFailure } from '../shared/network-failure.ts'
import { isLoopbackUrl } from '../shared/resource.ts'
import type { FetchLike } from './http.ts'
import { DEFAULT_HTTP } from './http.ts'

/** Transport policy shared by every oauth4webapi call of one session. */
export interface O4wPolicy {
  fetch?: FetchLike | undefined
  allowHttp?: boolean | undefined
  timeoutMs?: number | undefined
}

/** oauth4webapi request options for a call to `url` under `policy`. @see https://github.com/panva/oauth4webapi */
export function requestOptions(url: string | undefined, policy: O4wPolicy, signal?: AbortSignal) {
  const insecure =
    url !== undefined && new URL(url).protocol === 'http:' && (policy.allowHttp || isLoopbackUrl(url))
  const f = policy.fetch
  const signals = [AbortSignal.timeout(policy.timeoutMs ?? DEFAULT_HTTP.timeoutMs)]
  if (signal) signals.push(signal)
  return {
    signal: AbortSignal.any(signals),
    ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    ...(f ? { [oauth.customFetch]: (u: string, init: RequestInit) => f(u, init) } : {}),
  }
}

/**
 * Map whatever oauth4webapi (or fetch) threw onto an mcp-oauth error, keeping OAuth `error` codes.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function mapError(e: unknown, what: string, spec: string = SPEC.rfc6749): McpOAuthError {
  if (e instanceof McpOAuthError) return e
  if (e instanceof oauth.ResponseBodyError) {
    return new OAuthResponseError(e.error, e.error_description, {
      status: e.status,
      hint: hintFor(e.error, what),
      spec,
      cause: e,
    })
  }
  if (e instanceof oauth.AuthorizationResponseError) {
    return new OAuthResponseError(e.error, e.error_description, {
      hint: hintFor(e.error, what),
      spec,
      cause: e,
    })
  }
  if (e instanceof oauth.WWWAuthenticateChallengeError) {
    const c = e.cause[0]
    const err = c?.parameters.error ?? 'invalid_token'
    return new OAuthResponseError(err, c?.parameters.error_description, {
      status: e.status,
      hint: hintFor(err, what),
      spec,
      cause: e,
    })
  }
  if (e instanceof oauth.OperationProcessingError || e instanceof oauth.UnsupportedOperationError) {
    // No `cause`: oauth4webapi attaches the response body, which may hold fresh tokens.
    return new ProtocolViolationError(
      `invalid_${what.replace(/\W+/g, '_')}_response`,
      `${what}: ${e.message}`,
      {
        spec,
        hint: 'The authorization server answered in a way OAuth does not allow; report it to its operator.',
        details: { reason: e.code },
      },
    )
  }
  if (
    e instanceof Error &&
    (e.name === 'TimeoutError' || e.name === 'AbortError' || e instanceof TypeError)
  ) {
    const f = classifyNetworkFailure(e)
    return new TransportError('network_error', `${what}: ${describeNetworkFailure(f)}`, {
      spec,
      hint:
        f.kind === 'tls'
          ? 'If you trust this server (corporate TLS or a development certificate), pass its CA with --ca-file FILE; never disable TLS checks.'
          : 'Check your network and proxy settings (HTTPS_PROXY), then retry.',
      cause: e,
    })
  }
  return new McpOAuthError('unexpected_error', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  })
}

function hintFor(error: string, what: string): string {
  switch (error) {
    case 'invalid_grant':
      return 'The grant is no longer valid; sign in again (mcp-oauth login <url>).'
    case 'invalid_client':
      return 'The authorization server does not know this client any more; mcp-oauth re-registers it on the next sign-in.'
    case 'access_denied':
      return 'Sign-in was refused; sign in again and approve the request, or ask the server operator for access.'
    case 'invalid_scope':
      return 'The requested scopes are not allowed; pass --scope with scopes the server supports.'
    case 'unauthorized_client':
      return 'This client may not use this grant; check the client registration with the server operator.'
    default:
      return `The authorization server refused the ${what}; see error_description, or run mcp-oauth doctor <url>.`
  }
}
