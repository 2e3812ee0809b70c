/**
 * mcp-oauth-toolkit/client: turns an MCP server's 401 or 403 into a valid token and hands you an authorized `fetch`
 * for the official SDK transports.
 *
 * ```ts
 * import { authorizedFetch } from 'mcp-oauth-toolkit/client'
 * const fetch = authorizedFetch({ serverUrl, authorizer, store })
 * const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { fetch })
 * ```
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export * from '../shared/client-metadata.ts'
export * from '../shared/errors.ts'
export { type ScopeInputs, selectScope } from './authorization.ts'
export {
  type BeginOptions,
  type BeginResult,
  beginAuthorization,
  type CompleteOptions,
  completeAuthorization,
} from './authorization-callback.ts'
export type { AuthorizeContext, AuthorizeReason, Authorizer, DeviceCodePrompt } from './authorizer.ts'
export { type DiscoveryResult, discover } from './discovery.ts'
export { type AuthorizedFetch, type AuthorizedFetchOptions, authorizedFetch } from './fetch.ts'
export type {
  ClientIdentity,
  ClientInfo,
  PreRegisteredClient,
  TokenEndpointAuthMethod,
} from './registration.ts'

import { Session, type SessionOptions } from './session.ts'

export * from './interaction/index.ts'
export type { LogoutFailure, LogoutResult } from './revocation.ts'
export { type EnterpriseIdp, Session, type SessionOptions, type SessionStatus } from './session.ts'
export * from './stores/index.ts'
export type { TokenSet } from './tokens.ts'
export { DiscoveryTrace, type TraceStep } from './trace.ts'

/** Create a session for one MCP server. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function createSession(options: SessionOptions): Session {
  return new Session(options)
}
