/** Test helper: a signing key pair and a token minter. Keys are generated at run time. */
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  SignJWT,
} from 'jose'

export interface TestIssuer {
  issuer: string
  jwks: JSONWebKeySet
  mint(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>
  privateKey: CryptoKey
}

export async function testIssuer(
  alg: 'ES256' | 'RS256' = 'ES256',
  issuer = 'https://as.example.com',
): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }
  return {
    issuer,
    jwks: { keys: [jwk] },
    privateKey,
    async mint(claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ client_id: 'client-1', scope: 'mcp', sub: 'user-1', ...claims })
        .setProtectedHeader({ alg, kid: 'k1', typ: 'at+jwt', ...header })
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + 300)
        .setAudience((claims.aud as string | string[]) ?? 'https://mcp.example.com/mcp')
        .sign(privateKey)
    },
  }
}
