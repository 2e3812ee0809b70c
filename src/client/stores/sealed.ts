/**
 * AES-256-GCM sealing of store entries with node:crypto, and the key derivations the file store uses
 * (one key for entry contents, one for file names, so names reveal nothing about the servers used).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

/** A sealed box as stored on disk (base64url fields). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface SealedBox {
  v: 1
  alg: 'A256GCM'
  iv: string
  tag: string
  ct: string
}

/** Derive the entry key and the naming key from the 32-byte master key (HKDF-SHA256, RFC 5869). @see https://www.rfc-editor.org/rfc/rfc5869 */
export function deriveKeys(master: Uint8Array): { entries: Buffer; names: Buffer } {
  const salt = Buffer.from('mcp-oauth file store v1')
  return {
    entries: Buffer.from(hkdfSync('sha256', master, salt, 'entries', 32)),
    names: Buffer.from(hkdfSync('sha256', master, salt, 'names', 32)),
  }
}

/** A file-name-safe identifier of `key` that does not reveal it. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export function nameOf(namesKey: Buffer, key: string): string {
  return createHmac('sha256', namesKey).update(key, 'utf8').digest('hex').slice(0, 40)
}

/** Seal `plaintext`, binding it to `aad` (the file's name) so files cannot be swapped. @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf */
export function seal(key: Buffer, plaintext: Buffer, aad: string): SealedBox {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return {
    v: 1,
    alg: 'A256GCM',
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ct: ct.toString('base64url'),
  }
}

/** Open a sealed box; throws if it was altered, sealed under another key, or bound to another name. @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf */
export function unseal(key: Buffer, box: unknown, aad: string): Buffer {
  const b = box as Partial<SealedBox> | null
  if (typeof b !== 'object' || b === null || b.v !== 1 || b.alg !== 'A256GCM') {
    throw new Error('not a sealed store entry')
  }
  if (typeof b.iv !== 'string' || typeof b.tag !== 'string' || typeof b.ct !== 'string') {
    throw new Error('not a sealed store entry')
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(b.iv, 'base64url'))
  decipher.setAAD(Buffer.from(aad, 'utf8'))
  decipher.setAuthTag(Buffer.from(b.tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(b.ct, 'base64url')), decipher.final()])
}
