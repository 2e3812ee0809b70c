/**
 * At-rest protection for stored OAuth artifacts: identifiers are stored as keyed hashes (a leaked database
 * yields no usable token, code or session id) and client secrets are sealed with AES-256-GCM.
 * @see https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4.1.3
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomFillSync,
} from 'node:crypto'
import { InvalidArgumentError, SPEC } from '../../shared/errors.ts'

const SEALED_PREFIX = 'sealed:v1:'

/** Hashing and sealing keys derived from one storage key. @see https://www.rfc-editor.org/rfc/rfc5869 */
export interface Sealer {
  /** Keyed hash of an identifier (HMAC-SHA-256, base64url); what the database stores and looks up. */
  hash(id: string): string
  /** Encrypts a string; the output is self-describing so `open` can refuse anything else. */
  seal(plain: string): string
  /** Decrypts what `seal` produced; throws on tampering or the wrong key. */
  open(sealed: string): string
}

/**
 * Builds a Sealer from a storage key of at least 32 bytes (raw or base64url text).
 * @see https://www.rfc-editor.org/rfc/rfc5869
 */
export function createSealer(storageKey: string | Uint8Array): Sealer {
  const raw = typeof storageKey === 'string' ? Buffer.from(storageKey, 'base64url') : Buffer.from(storageKey)
  if (raw.length < 32) {
    throw new InvalidArgumentError('storage_key_too_short', 'the storage key must hold at least 32 bytes', {
      spec: SPEC.mcpSecurity,
      hint: 'generate one with `openssl rand -base64 32 | tr "+/" "-_"` and keep it out of the database',
    })
  }
  // Key objects made once: built from raw bytes on every call, they cost several times the HMAC itself.
  const hashKey = createSecretKey(
    Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mcp-oauth identifier hash', 32)),
  )
  const sealKey = createSecretKey(
    Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mcp-oauth secret seal', 32)),
  )
  // IVs drawn from one random buffer refilled every 256 seals: a system call per seal cost more than the cipher.
  const ivs = Buffer.alloc(12 * 256)
  let nextIv = ivs.length
  return {
    hash: (id) => createHmac('sha256', hashKey).update(id).digest('base64url'),
    seal(plain) {
      if (nextIv === ivs.length) {
        randomFillSync(ivs)
        nextIv = 0
      }
      const iv = ivs.subarray(nextIv, nextIv + 12)
      nextIv += 12
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
    },
    open(sealed) {
      if (!sealed.startsWith(SEALED_PREFIX)) throw new Error('value is not sealed')
      const data = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url')
      const decipher = createDecipheriv('aes-256-gcm', sealKey, data.subarray(0, 12))
      decipher.setAuthTag(data.subarray(12, 28))
      return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8')
    },
  }
}

const MAX_REMEMBERED = 64

/**
 * `sealer.hash` remembering its last few hundred answers: the hash is a pure function of the key and the
 * identifier, and the same identifiers come back within one request.
 * @see https://www.rfc-editor.org/rfc/rfc2104
 */
export function rememberingHash(sealer: Sealer, size = 256): (id: string) => string {
  const recent = new Map<string, string>()
  return (id) => {
    // Our identifiers are about 43 characters; a longer one (a client's URL, a hostile value) is not kept, so the
    // cache never holds more than a few tens of KB whatever is presented.
    if (id.length > MAX_REMEMBERED) return sealer.hash(id)
    let hashed = recent.get(id)
    if (hashed === undefined) {
      // Emptied rather than evicted one by one: cheaper, and the next request refills what it needs.
      if (recent.size >= size) recent.clear()
      hashed = sealer.hash(id)
      recent.set(id, hashed)
    }
    return hashed
  }
}

/** A fresh random storage key, base64url. @see https://www.rfc-editor.org/rfc/rfc4086 */
export function generateStorageKey(): string {
  return randomBytes(32).toString('base64url')
}
