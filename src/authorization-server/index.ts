/**
 * mcp-oauth-toolkit/authorization-server: an MCP-ready OAuth authorization server on oidc-provider, with SQLite and
 * PostgreSQL storage, local users, login and consent pages.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export { createPostgresStorage } from './adapters/postgres.ts'
export { createSealer, generateStorageKey, type Sealer } from './adapters/sealing.ts'
export type { Adapter, AuthorizationServerStorage, SqlStorageOptions } from './adapters/sql.ts'
export { createSqliteStorage } from './adapters/sqlite.ts'
export { type AuditEvent, type AuditSink, jsonLinesAudit } from './audit.ts'
export { createMemoryCounters, type SharedCounters, type WindowCount } from './counters.ts'
export { createRedisCounters, type RedisCountersOptions } from './counters-redis.ts'
export { createOutboundFetch, isSpecialUseAddress, type OutboundFetchOptions } from './outbound-fetch.ts'
export {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientIdMetadataDocumentOptions,
  createAuthorizationServer,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  type ResourceOptions,
} from './provider.ts'
export {
  DEFAULT_RATE_LIMITS,
  parseRateLimits,
  RATE_LIMIT_NAMES,
  type RateLimit,
  type RateLimits,
} from './rate-limit.ts'
export {
  isNativeRedirectUri,
  prepareRegistration,
  type RegistrationPolicy,
  redirectUriProblem,
} from './registration.ts'
export {
  activateSigningKeys,
  addSigningKeys,
  listSigningKeys,
  RETIRE_MINIMUM_AGE_SECONDS,
  type RetireOptions,
  retireSigningKeys,
  type SigningKeyInfo,
  type SigningKeyState,
} from './signing-keys.ts'
export {
  createUpstreamLogin,
  type UpstreamAccount,
  type UpstreamLogin,
  type UpstreamOptions,
  type UpstreamTokenSet,
} from './upstream.ts'
export { UpstreamLoginError } from './upstream-oauth2.ts'
export {
  checkEntraIdToken,
  PRESETS as UPSTREAM_PRESET_TABLE,
  resolveUpstream,
  UPSTREAM_PRESETS,
  type UpstreamPresetName,
} from './upstream-presets.ts'
export {
  createStoredUsers,
  createUserDirectory,
  hashPassword,
  type LocalUser,
  type StoredUsers,
  type UserDirectory,
  verifyPassword,
} from './users.ts'
