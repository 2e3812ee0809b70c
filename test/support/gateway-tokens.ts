/**
 * Access tokens of client c1 for gateway tests, signed with a key made at run time: for a subject or, without one,
 * for nobody the token names (as an introspection answer without `sub` would be).
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

/** A signer for `issuer` and `resource`, and the JWKS that verifies what it signs. @see https://www.rfc-editor.org/rfc/rfc9068 */
export async function gatewayTokens(issuer: string, resource: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] }
  const sign = (options: { subject?: string | undefined; jti?: string | undefined } = {}) => {
    const jwt = new SignJWT({ scope: 'mcp', client_id: 'c1', ...(options.jti ? { jti: options.jti } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setIssuer(issuer)
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime('5m')
    return (options.subject ? jwt.setSubject(options.subject) : jwt).sign(privateKey)
  }
  return { jwks, sign }
}
