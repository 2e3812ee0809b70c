/**
 * `createAuthorizationServer`: oidc-provider configured with MCP's defaults (CIMD, open DCR, resource
 * indicators with audience-bound RFC 9068 JWTs, S256 PKCE for everyone, RFC 9207 iss, refresh for every code
 * client, DPoP, revocation, introspection) plus our storage, interactions and front handler.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import Provider, { errors } from 'oidc-provider'
import { InvalidArgumentError, SPEC } from '../shared/errors.ts'
import { canonicalResource, isLoopbackUrl } from '../shared/resource.ts'
import { revokeGrantOnRacingRedemption } from './adapters/replay.ts'
import { idempotentRefreshRotation } from './adapters/rotation.ts'
import { createSealer, generateStorageKey } from './adapters/sealing.ts'
import type { AuthorizationServerStorage } from './adapters/sql.ts'
import { createSqliteStorage } from './adapters/sqlite.ts'
import { type AuditSink, auditProviderEvents } from './audit.ts'
import {
  type ClientIdMetadataDocumentOptions,
  createDocumentFetch,
  documentFetchOptions,
  documentHooks,
  explainFailure,
} from './client-metadata.ts'
import { createMemoryCounters, type SharedCounters } from './counters.ts'
import { errorPage, PAGE_CSP } from './html.ts'
import { createFrontHandler } from './http.ts'
import { loadServerSecrets } from './keys.ts'
import { limiterFactory, type RateLimits } from './rate-limit.ts'
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, type ResourceOptions } from './resource-options.ts'
import { createSigningKeyRing, publishCurrentKeys } from './signing-keys.ts'
import type { UpstreamOptions, UpstreamTokenSet } from './upstream.ts'
import * as upstreamLogin from './upstream.ts'
import { createUserDirectory, type LocalUser, type UserDirectory } from './users.ts'

/** Re-exported: the resources this server issues tokens for. @see https://www.rfc-editor.org/rfc/rfc8707 */
export { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, type ResourceOptions }

/** Pseudo-model recording which grant a JWT access token belongs to, so revoking the grant ends it too. */
const JWT_GRANT = 'AccessTokenGrant'

/** Re-exported for callers that build {@link AuthorizationServerOptions}. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export type { ClientIdMetadataDocumentOptions }

/** Options of {@link createAuthorizationServer}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface AuthorizationServerOptions {
  /** Issuer URL; https except on loopback. A path is allowed (metadata is then served path-inserted too). */
  issuer: string
  /** Resources tokens are issued for; the first is the default when a request names none. */
  resources: readonly ResourceOptions[]
  /** Storage; default an in-memory SQLite database (lost on exit). */
  storage?: AuthorizationServerStorage
  /** Local accounts, as hashes or a directory. */
  users?: readonly LocalUser[] | UserDirectory
  /** `open` (default), `initial_access_token` (send `initialAccessToken` as Bearer) or `off`. */
  registration?: {
    mode?: 'open' | 'initial_access_token' | 'off'
    initialAccessToken?: string
    maxRedirectUris?: number
  }
  /** Client ID Metadata Documents. */
  clientIdMetadataDocuments?: ClientIdMetadataDocumentOptions
  /** Pre-registered clients (RFC 7591 metadata, e.g. a resource server allowed to introspect). */
  clients?: readonly Record<string, unknown>[]
  /** Refresh token lifetime in seconds (default 30 days). */
  refreshTokenTtlSeconds?: number
  /** Origins allowed to call token, revocation and introspection from a browser: `*` (default) or a list. */
  corsOrigins?: '*' | readonly string[]
  /** Request limits (see {@link RateLimits} for what each is keyed by); `false` turns them off. */
  rateLimits?: false | Partial<RateLimits>
  /**
   * Where limit counters and DPoP replay markers live: default the storage's own (shared by every instance on
   * one SQL database), or e.g. Redis counters. Closed by the caller.
   */
  counters?: SharedCounters
  /** Receives audit events; default: none. */
  audit?: AuditSink
  /** Human descriptions of scopes, shown on the consent page. */
  scopeDescriptions?: Record<string, string>
  /** Trust X-Forwarded-* headers (behind a TLS-terminating proxy). */
  trustProxy?: boolean
  /** Also let people sign in at an upstream identity provider (its redirect URI: `<issuer>/upstream/callback`). */
  upstream?: UpstreamOptions
  /** How often the stored signing keys are re-read, so a rotation reaches every instance (seconds, default 2). */
  keyRefreshSeconds?: number
}

/** A running authorization server (no socket of its own: mount `handler`). @see https://www.rfc-editor.org/rfc/rfc8414 */
export interface AuthorizationServer {
  issuer: string
  /** The underlying oidc-provider instance. */
  provider: Provider
  /** Node request handler serving every endpoint, metadata and interaction page. */
  handler: (req: IncomingMessage, res: ServerResponse) => void
  /** The public signing keys `jwks_uri` serves now (they rotate), for a resource server in the same process. @see https://www.rfc-editor.org/rfc/rfc7517 */
  jwks: { keys: Record<string, unknown>[] }
  /** Mints an initial access token for protected registration. @see https://www.rfc-editor.org/rfc/rfc7591#section-3 */
  createInitialAccessToken(): Promise<string>
  /**
   * Whether the grant behind a JWT access token (by its `jti`) is still alive: false once the user signed out or
   * the grant was revoked, for a resource server in the same process that wants revocation to bite at once.
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  accessTokenGrantAlive(jti: string): Promise<boolean>
  /** The upstream provider's tokens behind a grant (by access-token `jti` or grant id), kept with `upstream.passTokens` for the operator only. @see https://www.rfc-editor.org/rfc/rfc8693#section-1 */
  upstreamTokens(reference: { jti: string } | { grantId: string }): Promise<UpstreamTokenSet | undefined>
  /** Closes storage (when this server opened it). */
  close(): Promise<void>
}

function invalidOption(message: string, hint: string): never {
  throw new InvalidArgumentError('invalid_authorization_server_option', message, { spec: SPEC.mcpAuth, hint })
}

/**
 * Creates an MCP-ready authorization server on oidc-provider.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function createAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const issuerUrl = URL.parse(options.issuer)
  if (
    !issuerUrl ||
    (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && isLoopbackUrl(issuerUrl)))
  ) {
    invalidOption('issuer must be an https URL (http only on loopback)', 'pass e.g. https://auth.example.com')
  }
  if (issuerUrl.search || issuerUrl.hash)
    invalidOption('issuer must not have a query or fragment', 'drop ?… and #…')
  const issuer = issuerUrl.href.replace(/\/$/, '')
  const mountPath = issuerUrl.pathname.replace(/\/$/, '')
  if (!options.resources.length)
    invalidOption('at least one resource is required', 'pass resources: [{ uri, scopes }]')
  const resources = new Map(options.resources.map((r) => [canonicalResource(r.uri), r]))
  const defaultResource = canonicalResource(options.resources[0]!.uri)
  const allResourceScopes = [...new Set(options.resources.flatMap((r) => r.scopes))]

  const ownsStorage = options.storage === undefined
  const storage =
    options.storage ?? (await createSqliteStorage(':memory:', { sealer: createSealer(generateStorageKey()) }))
  const secrets = await loadServerSecrets(storage)
  const signingKeys = await createSigningKeyRing(storage, { refreshSeconds: options.keyRefreshSeconds ?? 2 })
  const users =
    options.users && 'verify' in options.users
      ? options.users
      : await createUserDirectory((options.users ?? []) as LocalUser[])
  const audit: AuditSink = options.audit ?? (() => {})
  const cimd = options.clientIdMetadataDocuments ?? {}
  const registrationMode = options.registration?.mode ?? 'open'
  const corsOrigins = options.corsOrigins ?? '*'

  const upstream = options.upstream
    ? upstreamLogin.createUpstreamLogin(options.upstream, issuer, storage)
    : undefined
  const ownsCounters = !options.counters && !storage.counters
  const counters = options.counters ?? storage.counters ?? createMemoryCounters()
  const limiter = limiterFactory(options.rateLimits, counters)
  const cimdFetchLimit = limiter('cimdFetch')
  const maxRedirectUris = options.registration?.maxRedirectUris ?? 20
  const documents = createDocumentFetch(...documentFetchOptions(cimd))

  const provider = new Provider(issuer, {
    adapter: revokeGrantOnRacingRedemption(
      upstream?.keepsTokens
        ? upstreamLogin.bindUpstreamTokensOnCode(storage.adapter, upstream)
        : storage.adapter,
      (grantId) => provider.emit('grant.revoked', Provider.ctx, grantId),
    ),
    jwks: { keys: signingKeys.providerKeys() },
    cookies: { keys: secrets.cookieKeys },
    clients: options.clients ?? [],
    scopes: ['openid', 'offline_access', ...allResourceScopes],
    claims: { openid: ['sub'], profile: ['name'] },
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = await users.find(sub)
      if (user) return { accountId: sub, claims: async () => ({ sub, name: user.displayName ?? sub }) }
      const remote = await upstream?.find(sub)
      if (remote) return { accountId: sub, claims: async () => ({ sub, name: remote.name ?? sub }) }
      return undefined
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    },
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(t: string): boolean },
      source: { kind: string },
    ) =>
      client.grantTypeAllowed('refresh_token') &&
      (source.kind === 'AuthorizationCode' || source.kind === 'RefreshToken'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    ttl: {
      // A function, so each resource's accessTokenTTL (getResourceServerInfo) is what counts.
      AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 365 * 24 * 3600,
      RefreshToken: options.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
    },
    clientBasedCORS: (_ctx: unknown, origin: string) =>
      origin !== 'null' && (corsOrigins === '*' || corsOrigins.includes(origin)),
    fetch: documents.fetch,
    // One byte above our own bound, so the outbound fetch's clearer refusal is the one that fires.
    fetchResponseBodyLimits: { 'client_id metadata document': (cimd.maxBytes ?? 16 * 1024) + 1 },
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) =>
        `${mountPath}/interaction/${interaction.uid}`,
    },
    renderError: async (
      ctx: { type: string; body: string; set(k: string, v: string): void },
      out: Record<string, string>,
      error: unknown,
    ) => {
      ctx.type = 'html'
      ctx.set('x-frame-options', 'DENY')
      ctx.set('content-security-policy', PAGE_CSP)
      const reason = explainFailure(error)
      const description = [out['error_description'], reason].filter(Boolean).join(': ')
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><main>${errorPage(out['error'] ?? 'server_error', description)}</main></body></html>`
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      registration: {
        enabled: registrationMode !== 'off',
        initialAccessToken:
          registrationMode === 'initial_access_token'
            ? (options.registration?.initialAccessToken ?? true)
            : false,
        secretFactory: async () => randomBytes(32).toString('base64url'),
      },
      clientIdMetadataDocument: {
        enabled: cimd.enabled !== false,
        ack: 'draft-02',
        cacheDuration: cimd.cacheSeconds ?? { min: 300, max: 86400 },
        ...documentHooks(documents, cimdFetchLimit, maxRedirectUris, audit),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          oneOf ?? defaultResource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          // The keys are canonical, and so is every indicator a grant or token carries: no URL parse for those.
          let audience = resources.has(indicator) ? indicator : undefined
          if (audience === undefined) {
            let key: string
            try {
              key = canonicalResource(indicator)
            } catch {
              throw new errors.InvalidTarget('the resource is not a valid URL')
            }
            audience = [key, key.replace(/\/$/, '')].find((k) => resources.has(k))
          }
          const resource = audience === undefined ? undefined : resources.get(audience)
          if (!resource || audience === undefined)
            throw new errors.InvalidTarget(
              'this authorization server does not issue tokens for that resource',
            )
          return {
            scope: resource.scopes.join(' '),
            audience,
            accessTokenTTL: resource.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
            accessTokenFormat: resource.accessTokenFormat ?? 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
      dPoP: { enabled: true },
      // Signing goes through keys that follow the stored active key, so a rotation needs no restart.
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      introspection: {
        enabled: true,
        allowedPolicy: async (
          ctx: { oidc: { client: { clientId: string } } },
          client: { clientAuthMethod: string },
          token: { clientId?: string },
        ) => client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
    },
    discovery: {
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: cimd.enabled !== false,
    },
    formats: {
      customizers: {
        // JWTs are not stored by oidc-provider: a row keyed by jti, tied to the grant, lets revocation reach them.
        jwt: async (_ctx: unknown, token: { jti: string; grantId?: string; remainingTTL?: number }) => {
          if (token.grantId)
            await storage.adapter(JWT_GRANT).upsert(token.jti, { grantId: token.grantId }, token.remainingTTL)
        },
      },
    },
    extraClientMetadata: { properties: [] },
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'] },
  })
  // The front handler sets X-Forwarded-Host/Proto from the issuer on every request (and drops X-Forwarded-For
  // unless trustProxy): URLs oidc-provider builds always carry the issuer's origin.
  provider.proxy = true
  auditProviderEvents(provider, audit)
  provider.use(idempotentRefreshRotation)
  // DPoP proof (and client assertion) jtis are marked atomically in the shared counters, so a proof replayed
  // to another instance is refused too.
  // A store that cannot record the jti fails the request (closed), saying so rather than a bare server_error.
  provider.ReplayDetection.unique = async (iss: string, jti: string, exp: number) =>
    await counters.once(`replay:${iss}:${jti}`, Math.max(1, exp * 1000 - Date.now())).catch(() => {
      throw new errors.TemporarilyUnavailable(
        'the DPoP replay check could not be recorded (counter store unavailable); retry shortly',
      )
    })
  publishCurrentKeys(provider, signingKeys)

  const handler = createFrontHandler({
    provider,
    mountPath,
    issuer,
    audit,
    ...(upstream ? { upstream } : {}),
    trustProxy: options.trustProxy === true,
    registration: {
      defaultScopes: allResourceScopes,
      maxRedirectUris,
    },
    // Clients that send `resource` and no `scope` get that resource's defaults (the first's when none is named).
    defaultScope: async (clientId, resource) => {
      const named = resource
        ? URL.canParse(resource) && resources.get(canonicalResource(resource))
        : undefined
      const chosen = named || options.resources[0]!
      const wanted = chosen.defaultScopes ?? chosen.scopes
      const client = await provider.Client.find(clientId)
      if (!client?.scope) return wanted.join(' ')
      const allowed = new Set(client.scope.split(' '))
      const kept = wanted.filter((s) => allowed.has(s))
      return kept.length ? kept.join(' ') : client.scope
    },
    limits: {
      registration: limiter('registration'),
      token: limiter('token'),
      par: limiter('par'),
      revocation: limiter('revocation'),
      introspection: limiter('introspection'),
      authorization: limiter('authorization'),
    },
    interactions: {
      provider,
      users,
      csrfKey: secrets.csrfKey,
      mountPath,
      scopeDescriptions: options.scopeDescriptions ?? {},
      audit,
      loginLimits: { address: limiter('login'), account: limiter('loginAccount') },
      ...(upstream ? { upstream } : {}),
    },
  })

  return {
    issuer,
    provider,
    handler,
    get jwks() {
      return signingKeys.publicJwks()
    },
    async createInitialAccessToken() {
      return await new provider.InitialAccessToken({}).save()
    },
    async accessTokenGrantAlive(jti) {
      const record = await storage.adapter(JWT_GRANT).find(jti)
      // The grant record too: a racing code redemption deletes it, maybe before this token's record was written.
      const grantId = record?.['grantId']
      return typeof grantId === 'string' && (await storage.adapter('Grant').find(grantId)) !== undefined
    },
    upstreamTokens: async (reference) =>
      await upstreamLogin.findUpstreamTokens(upstream, storage.adapter(JWT_GRANT), reference),
    async close() {
      if (ownsCounters) await counters.close()
      signingKeys.close()
      if (ownsStorage) await storage.close()
    },
  }
}
