/**
 * The provider's tokens, kept only when the operator asks (`upstream.passTokens`): sealed with AES-256-GCM under
 * a key that itself rests sealed in the store, parked under the account until this server issues an
 * authorization code, then bound to that code's grant (the grant id column makes revoking the grant delete them).
 * @see https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4.1.3
 */
import { randomBytes } from 'node:crypto'
import { createSealer, type Sealer } from './adapters/sealing.ts'
import type { Adapter, AuthorizationServerStorage } from './adapters/sql.ts'
import type { UpstreamTokenSet } from './upstream-oauth2.ts'

/** Tokens wait this long for the authorization code that binds them to a grant. */
const PARKED_TTL_SECONDS = 3600
const GRANT_TTL_SECONDS = 365 * 24 * 3600

/** The part of the upstream login the hooks below need (a structural type, so this file imports nothing back). */
type TokenKeeper = {
  keepsTokens: boolean
  bindTokens(accountId: string, grantId: string): Promise<void>
  tokensForGrant(grantId: string): Promise<UpstreamTokenSet | undefined>
}

/** Where kept tokens live. @see https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4.1.3 */
export interface UpstreamTokenVault {
  /** Keeps the tokens of a sign-in under the account until a grant takes them. */
  park(accountId: string, tokens: UpstreamTokenSet): Promise<void>
  /** Moves the account's parked tokens to the grant (nothing parked: nothing changes). */
  bind(accountId: string, grantId: string): Promise<void>
  /** The grant's tokens, if any. */
  forGrant(grantId: string): Promise<UpstreamTokenSet | undefined>
}

/** The vault over the server's storage. @see https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4.1.3 */
export function createUpstreamTokenVault(storage: AuthorizationServerStorage): UpstreamTokenVault {
  const parked = storage.adapter('UpstreamTokensUnbound')
  const kept = storage.adapter('UpstreamTokens')
  let sealer: Promise<Sealer> | undefined
  const seal = () => {
    sealer ??= storage
      .loadSecret('upstream-token-key', () => randomBytes(32).toString('base64url'))
      .then((key) => createSealer(key))
    return sealer
  }
  return {
    async park(accountId, tokens) {
      const sealed = (await seal()).seal(JSON.stringify(tokens))
      await parked.upsert(accountId, { sealed }, PARKED_TTL_SECONDS)
    },
    async bind(accountId, grantId) {
      const waiting = await parked.find(accountId)
      if (!waiting || typeof waiting['sealed'] !== 'string') return
      await kept.upsert(grantId, { grantId, accountId, sealed: waiting['sealed'] }, GRANT_TTL_SECONDS)
      await parked.destroy(accountId)
    },
    async forGrant(grantId) {
      const row = await kept.find(grantId)
      if (!row || typeof row['sealed'] !== 'string') return undefined
      return JSON.parse((await seal()).open(row['sealed'])) as UpstreamTokenSet
    },
  }
}

/**
 * Wraps the adapter factory handed to oidc-provider: saving an authorization code binds the account's kept
 * upstream tokens to the code's grant, so whichever way the grant came (consent now or earlier), it holds the
 * tokens of the sign-in that issued it.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter
 */
export function bindUpstreamTokensOnCode(
  factory: (model: string) => Adapter,
  upstream: TokenKeeper,
): (model: string) => Adapter {
  return (model) => {
    const adapter = factory(model)
    if (model !== 'AuthorizationCode') return adapter
    return {
      ...adapter,
      async upsert(id, payload, expiresIn) {
        await adapter.upsert(id, payload, expiresIn)
        const { accountId, grantId } = payload
        if (typeof accountId === 'string' && typeof grantId === 'string')
          await upstream.bindTokens(accountId, grantId)
      },
    }
  }
}

/**
 * The kept tokens behind an access token (`jti`, through the store's jti → grant rows) or a grant id.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
export async function findUpstreamTokens(
  upstream: TokenKeeper | undefined,
  jwtGrants: Adapter,
  reference: { jti: string } | { grantId: string },
): Promise<UpstreamTokenSet | undefined> {
  if (!upstream?.keepsTokens) return undefined
  const grantId =
    'grantId' in reference ? reference.grantId : (await jwtGrants.find(reference.jti))?.['grantId']
  return typeof grantId === 'string' ? await upstream.tokensForGrant(grantId) : undefined
}
