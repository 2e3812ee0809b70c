/**
 * Server secrets kept in storage (sealed) so every instance on one database shares them: cookie keys and the
 * CSRF key (the signing keys rotate and live in signing-keys.ts).
 * @see https://www.rfc-editor.org/rfc/rfc7517
 */
import { randomBytes } from 'node:crypto'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/** The secrets an authorization server instance needs. */
export interface ServerSecrets {
  /** Cookie signing keys. */
  cookieKeys: string[]
  /** HMAC key for CSRF tokens on interaction forms. */
  csrfKey: Buffer
}

/** Loads the server secrets, creating them on first start. @see https://www.rfc-editor.org/rfc/rfc7517 */
export async function loadServerSecrets(storage: AuthorizationServerStorage): Promise<ServerSecrets> {
  const cookieKeys = JSON.parse(
    await storage.loadSecret('cookie_keys', () => JSON.stringify([randomBytes(32).toString('base64url')])),
  )
  const csrfKey = Buffer.from(
    await storage.loadSecret('csrf_key', () => randomBytes(32).toString('base64url')),
    'base64url',
  )
  return { cookieKeys, csrfKey }
}
