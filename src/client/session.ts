/**
 * One MCP server's authorization state: stored tokens, proactive and single-flight refresh under the store's
 * lock and compare-and-swap, and the way to new tokens (discovery → registration → grant).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { McpOAuthError, OAuthResponseError, SPEC } from '../shared/errors.ts'
import { canonicalResource } from '../shared/resource.ts'
import { containsScope } from '../shared/scope.ts'
import { assertAuthorizationParams, resourceRefused, resourceToSend } from './authorization-parameters.ts'
import type { DiscoveryResult } from './discovery.ts'
import type { DpopKey } from './dpop.ts'
import type { ClientIdentity, ClientInfo } from './registration.ts'
import type { LogoutFailure, LogoutResult } from './revocation.ts'
import {
  describeSession,
  expiringSoon,
  needSignIn,
  type SessionOptions,
  type SessionRecord,
  type SessionStatus,
  sameDiscoverySource,
} from './session-options.ts'
import { checkAccount, MemoryStore, type StoreEntry, storeKey, type TokenStore } from './stores/store.ts'
import type { TokenSet } from './tokens.ts'
import { DiscoveryTrace } from './trace.ts'

export type { EnterpriseIdp, SessionOptions, SessionRecord, SessionStatus } from './session-options.ts'

// The way to new tokens (discovery, registration, grants, browser, DPoP keys) loads on first use: a process that
// only presents stored tokens (the `connect` bridge in steady state) never reads those modules.
const discoveryModule = () => import('./discovery.ts')
const dpopModule = () => import('./dpop.ts')
const grantsModule = () => import('./grants.ts')
const revocationModule = () => import('./revocation.ts')
const tokensModule = () => import('./tokens.ts')

/** Per-process coordination for one server (single flight of refresh and sign-in). */
interface Current {
  key: string
  entry: StoreEntry<SessionRecord>
}

/**
 * One server's session. `authorizedFetch` (fetch.ts) drives it; the CLI calls `login`, `logout`, `status`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export class Session {
  readonly server: string
  readonly account: string
  readonly store: TokenStore
  readonly options: SessionOptions
  readonly trace = new DiscoveryTrace()
  #current: Current | undefined
  #discovery: DiscoveryResult | undefined
  #dpop: DpopKey | undefined
  #inflight: Promise<TokenSet> | undefined
  #loaded = false

  constructor(options: SessionOptions) {
    this.server = canonicalResource(options.serverUrl)
    this.account = checkAccount(options.account)
    assertAuthorizationParams(options.authorizationParams)
    this.store = options.store ?? new MemoryStore()
    this.options = options
  }

  /** Log a line of progress. */
  log(message: string): void {
    this.options.log?.(message)
  }

  /** The DPoP key of the current session, if tokens are DPoP-bound. */
  get dpopKey(): DpopKey | undefined {
    return this.#dpop
  }

  /** Load the stored session (no network). */
  async load(): Promise<TokenSet | undefined> {
    const pointer = await this.store.get<{ key: string }>(storeKey.current(this.server, this.account))
    this.#loaded = true
    if (!pointer) return undefined
    const entry = await this.store.get<SessionRecord>(pointer.value.key)
    if (!entry) return undefined
    await this.#adopt(pointer.value.key, entry)
    return entry.value.tokens
  }

  async #adopt(key: string, entry: StoreEntry<SessionRecord>): Promise<void> {
    this.#current = { key, entry }
    const jwk = entry.value.dpop_jwk
    if (jwk && this.#dpop?.privateJwk['d'] !== jwk['d'])
      this.#dpop = await (await dpopModule()).loadDpopKey(jwk)
    if (!jwk) this.#dpop = undefined
  }

  /** Cached or fresh discovery (the cache lives in the store so warm starts need no requests). */
  async discovery(
    opts: { resourceMetadataUrl?: string | undefined; fresh?: boolean } = {},
  ): Promise<DiscoveryResult> {
    const key = storeKey.discovery(this.server)
    // A challenge naming another resource_metadata than the cached result came from means something changed.
    // Endpoints given now (or no longer given) make a cached result stale whatever its age.
    const sameSource = (d: DiscoveryResult) =>
      sameDiscoverySource(d, opts.resourceMetadataUrl, this.options.authorizationServerMetadata)
    if (!opts.fresh) {
      if (this.#discovery && this.#discovery.expires_at > Date.now() && sameSource(this.#discovery))
        return this.#discovery
      const cached = await this.store.get<DiscoveryResult>(key)
      if (cached && cached.value.expires_at > Date.now()) {
        if (sameSource(cached.value)) {
          this.trace.add({ kind: 'cache', url: this.server, outcome: 'cached', note: 'discovery from store' })
          this.#discovery = cached.value
          return cached.value
        }
      }
    }
    const { discover } = await discoveryModule()
    const result = await discover(this.server, {
      ...(opts.resourceMetadataUrl ? { resourceMetadataUrl: opts.resourceMetadataUrl } : {}),
      trace: this.trace,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      allowHttp: this.options.allowHttp ?? false,
      ...(this.options.authorizationServerMetadata
        ? { authorizationServer: this.options.authorizationServerMetadata }
        : {}),
    })
    if (this.options.resource) result.resource = this.options.resource
    this.#discovery = result
    if (result.expires_at > Date.now()) await this.store.set(key, result)
    return result
  }

  /**
   * A usable token: from memory, else the store; refreshed first when it is about to expire.
   * Returns undefined when there is none (the caller then sends the request without one).
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  async tokens(): Promise<TokenSet | undefined> {
    if (!this.#loaded) await this.load()
    const t = this.#current?.entry.value.tokens
    if (!t) return undefined
    if (!expiringSoon(t)) return t
    if (!t.refresh_token) return t
    try {
      return await this.refresh(t)
    } catch (e) {
      // A failed proactive refresh is not fatal: the server's 401 will start the proper path.
      this.log(`proactive refresh failed: ${e instanceof McpOAuthError ? e.code : String(e)}`)
      return t
    }
  }

  /**
   * Refresh once per process (single flight) and once across processes (lock + generation): whoever loses
   * the race uses the winner's tokens, so a rotating refresh token is redeemed exactly once.
   * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
   */
  refresh(failed: TokenSet): Promise<TokenSet> {
    this.#inflight ??= this.#refreshLocked(failed).finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #refreshLocked(failed: TokenSet): Promise<TokenSet> {
    const cur = this.#current
    if (!cur) throw needSignIn(this.server)
    const release = await this.store.lock?.(`lock refresh ${cur.key}`, { ttlMs: 30_000 })
    try {
      const latest = await this.store.get<SessionRecord>(cur.key)
      // Signed out (by `logout` in another process) while this one held tokens: do not resurrect the session.
      if (!latest) throw needSignIn(this.server)
      if (latest.value.tokens.access_token !== failed.access_token) {
        // Another process (or an earlier call) already refreshed: use its tokens.
        await this.#adopt(cur.key, latest)
        if (!expiringSoon(latest.value.tokens)) return latest.value.tokens
      }
      const record = latest.value
      if (!record.tokens.refresh_token) throw needSignIn(this.server)
      const d = await this.discovery()
      const client = await this.registeredClient(record.issuer, record.client_id)
      if (!client || d.issuer !== record.issuer) throw needSignIn(this.server)
      const refused = await resourceRefused(this.store, record.issuer, record.resource)
      const resource = resourceToSend(this.options.resourceParameter, record.resource, refused !== undefined)
      let next: TokenSet
      try {
        const { refreshTokens } = await tokensModule()
        next = await refreshTokens(
          { metadata: d.metadata, client, policy: this.#policy(), dpop: this.#dpop },
          record.tokens,
          resource,
        )
      } catch (e) {
        if (e instanceof OAuthResponseError && e.error === 'invalid_grant') {
          // Before concluding the grant is dead, see whether someone saved newer tokens meanwhile.
          const again = await this.store.get<SessionRecord>(cur.key)
          if (again && again.generation !== latest.generation) {
            await this.#adopt(cur.key, again)
            return again.value.tokens
          }
        }
        throw e
      }
      const written = await this.store.set(
        cur.key,
        { ...record, tokens: next, updated_at: Date.now() },
        latest.generation,
      )
      if (!written.ok) {
        // Someone wrote meanwhile (a step-up, a logout): theirs stands. Ours are dropped, never written over it.
        if (!written.current) throw needSignIn(this.server)
        await this.#adopt(cur.key, written.current as StoreEntry<SessionRecord>)
        return (written.current.value as SessionRecord).tokens
      }
      await this.#adopt(cur.key, {
        value: { ...record, tokens: next, updated_at: Date.now() },
        generation: written.generation,
      })
      return next
    } finally {
      await release?.()
    }
  }

  /** The client `clientId` as this session knows it for `issuer` (stored registration, pre-registered or CIMD). */
  async registeredClient(issuer: string, clientId: string): Promise<ClientInfo | undefined> {
    const stored = await this.store.get<ClientInfo>(storeKey.registration(issuer))
    if (stored?.value.client_id === clientId) return stored.value
    const { resolveClient } = await import('./registration.ts')
    const d = await this.discovery()
    const c = await resolveClient({
      issuer,
      metadata: d.metadata,
      identity: this.identity(),
      store: this.store,
      policy: this.#policy(),
    }).catch(() => undefined)
    return c?.client_id === clientId ? c : undefined
  }

  /** The client identity with defaults. */
  identity(): ClientIdentity {
    return { client_name: 'mcp-oauth', ...this.options.identity } as ClientIdentity
  }

  #policy() {
    return {
      fetch: this.options.fetch,
      allowHttp: this.options.allowHttp,
    }
  }

  async #save(record: SessionRecord, expectedGeneration?: number): Promise<void> {
    const key = storeKey.session(record.resource, record.issuer, record.client_id, this.account)
    let result = await this.store.set(
      key,
      record,
      key === this.#current?.key ? expectedGeneration : undefined,
    )
    if (!result.ok) result = await this.store.set(key, record)
    if (!result.ok)
      throw new McpOAuthError('store_conflict', 'could not save the session', { spec: SPEC.mcpAuth })
    await this.store.set(storeKey.current(this.server, this.account), { key })
    const previous = this.#current?.key
    await this.#adopt(key, { value: record, generation: result.generation })
    // A new client or issuer for this server: the old session's tokens are of no further use here.
    if (previous && previous !== key) await this.store.delete(previous)
  }

  /** Save tokens obtained outside `authorize` (a sign-in completed in another request: authorization-callback.ts). */
  async saveSignIn(record: Omit<SessionRecord, 'updated_at' | 'server'>): Promise<void> {
    await this.#save({ ...record, server: this.server, updated_at: Date.now() })
  }

  /**
   * Get new tokens after a 401/403 (or for `login`): discovery, registration, then the grant. Only one
   * process runs the interactive part; the others wait on the store's lock and reuse its result.
   * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
   */
  async authorize(p: {
    reason: 'login' | 'step-up' | 'reauthorize'
    challengedScope?: string | undefined
    resourceMetadataUrl?: string | undefined
    rejected?: TokenSet | undefined
  }): Promise<TokenSet> {
    // What this process held before waiting: tokens that differ from it were saved by someone else meanwhile.
    if (!this.#loaded) await this.load()
    const before = this.#current?.entry.value.tokens.access_token
    const release = await this.store.lock?.(`lock login ${this.server} ${this.account}`, {
      ttlMs: 10 * 60_000,
    })
    try {
      const stored = await this.load()
      // Another process signed in (or stepped up) while this one waited for the lock: use its tokens.
      if (
        stored &&
        stored.access_token !== before &&
        stored.access_token !== p.rejected?.access_token &&
        containsScope(stored.scope, p.challengedScope)
      ) {
        return stored
      }
      // Step-up reuses the cached discovery unless the challenge names another resource_metadata: nothing changed
      // but the scope. A sign-in or re-authorization looks again (the server may have moved).
      const d = await this.discovery({
        resourceMetadataUrl: p.resourceMetadataUrl,
        fresh: p.reason !== 'step-up',
      })
      const granted =
        this.#current?.entry.value.issuer === d.issuer ? this.#current.entry.value.tokens.scope : undefined
      const dpop = await this.#dpopFor(d)
      const { obtainTokens } = await grantsModule()
      const { tokens, client } = await obtainTokens(this, {
        discovery: d,
        reason: p.reason,
        challengedScope: p.challengedScope,
        // Keep what was granted on step-up and re-authorization alike (same issuer only).
        granted: p.reason === 'login' ? undefined : granted,
        dpop,
        policy: this.#policy(),
      })
      this.#dpop = dpop
      await this.#save({
        server: this.server,
        resource: d.resource,
        issuer: d.issuer,
        client_id: client.client_id,
        tokens,
        ...(dpop ? { dpop_jwk: dpop.privateJwk as Record<string, unknown> } : {}),
        updated_at: Date.now(),
      })
      return tokens
    } finally {
      await release?.()
    }
  }

  async #dpopFor(d: DiscoveryResult): Promise<DpopKey | undefined> {
    const mode = this.options.dpop ?? 'auto'
    if (mode === 'never') return undefined
    const algs = d.metadata.dpop_signing_alg_values_supported
    if (mode === 'auto' && !algs?.includes('ES256') && !d.prm?.dpop_bound_access_tokens_required)
      return undefined
    return this.#dpop ?? (await (await dpopModule()).createDpopKey())
  }

  /**
   * Sign out: revoke the refresh and access tokens where the AS allows (RFC 7009), then forget them, and say
   * per token what the AS answered. Failures are reported, not thrown: the local copy is deleted either way.
   * The client registration is kept so the next sign-in reuses it.
   * @see https://www.rfc-editor.org/rfc/rfc7009
   */
  async logout(): Promise<LogoutResult> {
    await this.load()
    const cur = this.#current
    if (!cur) return { revoked: false, signed_in: false }
    const result: LogoutResult = { revoked: false, signed_in: true }
    const failures: LogoutFailure[] = []
    try {
      const d = await this.discovery()
      const client = await this.registeredClient(cur.entry.value.issuer, cur.entry.value.client_id)
      // Tokens and client credentials go only to the authorization server that issued them.
      if (!client) result.not_sent = 'no_client'
      else if (d.issuer !== cur.entry.value.issuer) result.not_sent = 'issuer_changed'
      else if (!d.metadata.revocation_endpoint) result.not_sent = 'no_revocation_endpoint'
      else {
        const ctx = { metadata: d.metadata, client, policy: this.#policy() }
        const { revokeOne } = await revocationModule()
        const t = cur.entry.value.tokens
        // Revoking the refresh token ends the grant; many servers (JWT access tokens) refuse to revoke
        // access tokens with unsupported_token_type, which leaves them valid only until they expire.
        if (t.refresh_token) {
          result.refresh_token_revoked = await revokeOne(ctx, t.refresh_token, 'refresh_token', failures)
        }
        result.access_token_revoked = await revokeOne(ctx, t.access_token, 'access_token', failures)
      }
    } catch (e) {
      failures.push({ token: 'discovery', error: (await revocationModule()).toMcpOAuthError(e) })
    } finally {
      await this.store.delete(cur.key)
      await this.store.delete(storeKey.current(this.server, this.account))
      this.#current = undefined
      this.#dpop = undefined
    }
    result.revoked = result.refresh_token_revoked === true || result.access_token_revoked === true
    if (failures.length) result.failures = failures
    return result
  }

  /** What `status` shows: issuer, client, scopes, expiry, store; never a token. */
  async status(): Promise<SessionStatus> {
    await this.load()
    const r = this.#current?.entry.value
    const client = r && (await this.store.get<ClientInfo>(storeKey.registration(r.issuer)))?.value
    const source = client && client.client_id === r.client_id ? client.source : undefined
    return describeSession({ server: this.server, account: this.account, store: this.store.kind }, r, source)
  }
}
