/**
 * A grant source redeemed twice at once revokes its grant, as a sequential replay does: oidc-provider revokes on
 * finding the code already consumed, but two token requests racing past that check are told apart only by the
 * store's consume, which refuses the second (sql.ts) without knowing the request or its provider.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.5
 */
import { errors } from 'oidc-provider'
import type { Adapter } from './contract.ts'

/** Grant sources that may be redeemed once (RFC 6749 §4.1.2, RFC 8628 §3.5, CIBA §10.1). */
export const ONE_TIME_GRANT_SOURCES: ReadonlySet<string> = new Set([
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
])

/** Every model a grant's tokens and sources are stored under (oidc-provider's revoke, plus the JWT records). */
const GRANT_MODELS = [
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'AccessTokenGrant',
]

/**
 * Wraps an adapter factory so that a one-time grant source whose consume is refused (another request redeemed
 * it first) takes its whole grant with it before the refusal answers: the grant record goes, so the winner's
 * refresh token and JWT access tokens die even when they are written after this (refresh and the live-grant
 * check both need the grant). `revoked` reports it, for the audit log.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export function revokeGrantOnRacingRedemption(
  adapter: (model: string) => Adapter,
  revoked: (grantId: string) => void,
): (model: string) => Adapter {
  return (model) => {
    const inner = adapter(model)
    if (!ONE_TIME_GRANT_SOURCES.has(model)) return inner
    return {
      ...inner,
      async consume(id) {
        try {
          await inner.consume(id)
        } catch (error) {
          if (!(error instanceof errors.InvalidGrant)) throw error
          const grantId = (await inner.find(id))?.['grantId']
          // Gone already: a third racer, or the grant was revoked meanwhile; there is nothing left to end.
          if (typeof grantId === 'string') {
            await Promise.all([
              ...GRANT_MODELS.map((m) => adapter(m).revokeByGrantId(grantId)),
              adapter('Grant').destroy(grantId),
            ])
            revoked(grantId)
          }
          throw error
        }
      },
    }
  }
}
