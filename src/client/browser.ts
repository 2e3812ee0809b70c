/**
 * The client engine for browser pages (no Node built-ins: WebCrypto, fetch, Web Storage): discovery,
 * registration (DCR or CIMD), PKCE, the sign-in split at the redirect, refresh, step-up and `authorizedFetch`.
 * Published bundled as `mcp-oauth-toolkit/browser` (`npm run build:browser`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export * from '../shared/errors.ts'
export {
  type BeginOptions,
  type BeginResult,
  beginAuthorization,
  type CompleteOptions,
  completeAuthorization,
} from './authorization-callback.ts'
export type { AuthorizeContext, Authorizer } from './authorizer.ts'
export { type AuthorizedFetch, authorizedFetch } from './fetch.ts'
export { Session, type SessionOptions, type SessionStatus } from './session.ts'
export { MemoryStore, storeKey, type TokenStore } from './stores/store.ts'
export { type WebStorage, WebStorageStore } from './stores/web-storage.ts'
export type { TokenSet } from './tokens.ts'
