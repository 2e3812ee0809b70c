/**
 * Signing keys that rotate without a restart, across every instance on one store. The key set rests sealed in
 * storage (secret `jwks`); each key is `next` (published in the JWKS, not yet signing), `active` (signing) or
 * `retiring` (published so tokens it signed still verify, no longer signing). Instances re-read the set every
 * two seconds. oidc-provider's key store is fixed at construction, so it holds one external signing key per
 * algorithm that signs with whichever key is active now; the JWKS endpoint serves the current public keys.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.16
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto'
import type Provider from 'oidc-provider'
import { ExternalSigningKey } from 'oidc-provider'
import { InvalidArgumentError } from '../shared/errors.ts'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/** Where a signing key is in its life. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export type SigningKeyState = 'next' | 'active' | 'retiring'

/** The algorithms every generation of keys covers: ES256 for access tokens, RS256 for ID tokens. @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const
type Alg = (typeof SIGNING_ALGORITHMS)[number]

/** A signing key as `keys list` shows it (never a private member). @see https://www.rfc-editor.org/rfc/rfc7517 */
export interface SigningKeyInfo {
  kid: string
  alg: Alg
  state: SigningKeyState
  /** When the key was generated, seconds since the epoch (absent for keys made before rotation existed). */
  created?: number
  /** When a `retiring` key stopped signing, seconds since the epoch (absent for keys retired before this was kept). */
  retiringSince?: number
}

type StoredKey = JsonWebKey & {
  kid: string
  alg: Alg
  mcp_oauth_state?: SigningKeyState
  mcp_oauth_created?: number
  mcp_oauth_retiring_since?: number
}
interface RingKey extends SigningKeyInfo {
  privateKey: KeyObject
  publicKey: KeyObject
  publicJwk: Record<string, unknown>
}

const SECRET = 'jwks'
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])

function generation(state: SigningKeyState): StoredKey[] {
  const created = Math.floor(Date.now() / 1000)
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })
  const extra = { use: 'sig', mcp_oauth_state: state, mcp_oauth_created: created }
  return [
    { ...ec, kid: randomUUID(), alg: 'ES256', ...extra },
    { ...rsa, kid: randomUUID(), alg: 'RS256', ...extra },
  ]
}

function parseStored(text: string): StoredKey[] {
  const doc = JSON.parse(text) as { keys?: unknown }
  if (!Array.isArray(doc.keys)) throw new Error('stored signing keys are not a JSON Web Key Set')
  return doc.keys as StoredKey[]
}

// Keys stored before rotation existed carry no state: they are the active ones.
const stateOf = (key: StoredKey): SigningKeyState => key.mcp_oauth_state ?? 'active'

function toInfo(key: StoredKey): SigningKeyInfo {
  return {
    kid: key.kid,
    alg: key.alg,
    state: stateOf(key),
    ...(typeof key.mcp_oauth_created === 'number' ? { created: key.mcp_oauth_created } : {}),
    ...(typeof key.mcp_oauth_retiring_since === 'number'
      ? { retiringSince: key.mcp_oauth_retiring_since }
      : {}),
  }
}

function toRingKey(key: StoredKey): RingKey {
  const privateKey = createPrivateKey({ key: key as JsonWebKey, format: 'jwk' })
  const publicKey = createPublicKey(privateKey)
  const publicJwk: Record<string, unknown> = { ...publicKey.export({ format: 'jwk' }) }
  Object.assign(publicJwk, { kid: key.kid, alg: key.alg, use: 'sig' })
  for (const member of PRIVATE_MEMBERS) delete publicJwk[member]
  return { ...toInfo(key), privateKey, publicKey, publicJwk }
}

/** The running side: what oidc-provider signs with and what the JWKS endpoint serves. @see https://www.rfc-editor.org/rfc/rfc7517 */
export interface SigningKeyRing {
  /** For oidc-provider's `jwks` option: one external key per algorithm, following the active key. */
  providerKeys(): ExternalSigningKey[]
  /** The public keys to publish: active first, then next, then retiring. */
  publicJwks(): { keys: Record<string, unknown>[] }
  /** Re-reads the stored set now (also done every `refreshSeconds`). */
  refresh(): Promise<void>
  /** Stops re-reading. */
  close(): void
}

/**
 * Loads the stored key set (creating the first generation, active, on a fresh store) and keeps following it.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export async function createSigningKeyRing(
  storage: AuthorizationServerStorage,
  options: { refreshSeconds?: number } = {},
): Promise<SigningKeyRing> {
  let text = ''
  let keys: RingKey[] = []
  let active = new Map<Alg, RingKey>()
  // Kids that may sign: the active ones, and those active until the last re-read (a token whose header was
  // written just before a rotation). A `next` or `retiring` key never signs.
  let signing = new Set<string>()
  let published: { keys: Record<string, unknown>[] } = { keys: [] }

  const apply = (next: string) => {
    if (next === text) return
    const ring = parseStored(next).map(toRingKey)
    const byAlg = new Map<Alg, RingKey>()
    for (const key of ring) if (key.state === 'active' && !byAlg.has(key.alg)) byAlg.set(key.alg, key)
    // A set without an active key per algorithm is refused: keep signing with what works.
    for (const alg of SIGNING_ALGORITHMS)
      if (!byAlg.has(alg)) throw new Error(`stored signing keys have no active ${alg} key`)
    const rank = { active: 0, next: 1, retiring: 2 }
    keys = ring
    signing = new Set([...[...active.values()].map((k) => k.kid), ...[...byAlg.values()].map((k) => k.kid)])
    active = byAlg
    published = { keys: [...ring].sort((a, b) => rank[a.state] - rank[b.state]).map((k) => k.publicJwk) }
    text = next
  }
  apply(await storage.loadSecret(SECRET, () => JSON.stringify({ keys: generation('active') })))

  const refresh = async () => {
    apply(await storage.loadSecret(SECRET, () => text))
  }
  const seconds = options.refreshSeconds ?? 2
  const timer =
    seconds > 0
      ? setInterval(() => {
          // A failed read (database restarting) or a bad set keeps the keys in use; the next tick retries.
          refresh().catch(() => {})
        }, seconds * 1000)
      : undefined
  timer?.unref()

  const current = (alg: Alg): RingKey => active.get(alg)!

  class RotatingSigningKey extends ExternalSigningKey {
    readonly #alg: Alg
    constructor(alg: Alg) {
      super()
      this.#alg = alg
    }
    override get kid(): string {
      return current(this.#alg).kid
    }
    override set kid(_value: string) {}
    override get alg(): string {
      return this.#alg
    }
    override set alg(_value: string) {}
    override get kty(): string {
      return current(this.#alg).publicJwk['kty'] as string
    }
    override get crv(): string | undefined {
      return current(this.#alg).publicJwk['crv'] as string | undefined
    }
    override get x(): string | undefined {
      return current(this.#alg).publicJwk['x'] as string | undefined
    }
    override get y(): string | undefined {
      return current(this.#alg).publicJwk['y'] as string | undefined
    }
    override get n(): string | undefined {
      return current(this.#alg).publicJwk['n'] as string | undefined
    }
    override get e(): string | undefined {
      return current(this.#alg).publicJwk['e'] as string | undefined
    }
    override keyObject(): KeyObject {
      return current(this.#alg).publicKey
    }
    override async sign(data: Uint8Array): Promise<Uint8Array> {
      // The header was written with the kid active then: sign with that very key even if the set just changed.
      const header = JSON.parse(
        Buffer.from(Buffer.from(data).toString('latin1').split('.')[0]!, 'base64url').toString(),
      )
      const key = signing.has(header.kid)
        ? keys.find((k) => k.kid === header.kid && k.alg === this.#alg)
        : undefined
      if (!key) throw new Error('the token names a key that is not the active signing key')
      // A bare KeyObject takes Node's fast path (an options object costs about twice the signature); the DER
      // ECDSA signature is then rewritten as JWS wants it.
      const signature = sign('sha256', data, key.privateKey)
      return this.#alg === 'ES256' ? derToJoseP256(signature) : signature
    }
  }
  const providerKeys = SIGNING_ALGORITHMS.map((alg) => new RotatingSigningKey(alg))

  return {
    providerKeys: () => providerKeys,
    publicJwks: () => published,
    refresh,
    close() {
      if (timer) clearInterval(timer)
    },
  }
}

/**
 * Makes oidc-provider's `jwks_uri` answer with the current public keys (its own copy is fixed at construction);
 * the route's headers (content type, CORS) stay its own.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function publishCurrentKeys(provider: Provider, ring: SigningKeyRing): void {
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.path === '/jwks' && ctx.status === 200) ctx.body = ring.publicJwks()
  })
}

/**
 * An ECDSA P-256 signature from DER (SEQUENCE of two INTEGERs) to the 64-byte r‖s form JWS uses.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.4
 */
function derToJoseP256(der: Buffer): Buffer {
  const out = Buffer.alloc(64)
  // SEQUENCE header: 0x30 and a one-byte length (a P-256 signature is at most 72 bytes).
  let offset = 2
  for (let part = 0; part < 2; part++) {
    const length = der[offset + 1]!
    let value = der.subarray(offset + 2, offset + 2 + length)
    // INTEGERs are signed: a leading zero keeps a high bit positive; r and s are 32 bytes unsigned.
    while (value.length > 32 && value[0] === 0) value = value.subarray(1)
    value.copy(out, part * 32 + 32 - value.length)
    offset += 2 + length
  }
  return out
}

function keysError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_key_rotation', message, {
    spec: 'https://www.rfc-editor.org/rfc/rfc7517#section-5',
    hint,
  })
}

async function change(
  storage: AuthorizationServerStorage,
  edit: (keys: StoredKey[]) => StoredKey[],
): Promise<SigningKeyInfo[]> {
  const text = await storage.updateSecret(SECRET, (current) =>
    JSON.stringify({ keys: edit(current === undefined ? generation('active') : parseStored(current)) }),
  )
  return parseStored(text).map(toInfo)
}

/** The stored signing keys. @see https://www.rfc-editor.org/rfc/rfc7517 */
export async function listSigningKeys(storage: AuthorizationServerStorage): Promise<SigningKeyInfo[]> {
  const text = await storage.loadSecret(SECRET, () => JSON.stringify({ keys: generation('active') }))
  return parseStored(text).map(toInfo)
}

/**
 * Adds a generation of keys in state `next`: published at once, signing only after {@link activateSigningKeys}.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export async function addSigningKeys(storage: AuthorizationServerStorage): Promise<SigningKeyInfo[]> {
  return await change(storage, (keys) => {
    if (keys.some((k) => stateOf(k) === 'next'))
      throw keysError('new keys are already published and waiting', 'run `mcp-oauth keys activate` first')
    return [...keys, ...generation('next')]
  })
}

/**
 * The `next` keys start signing; the active ones become `retiring` (still published, so their tokens verify).
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export async function activateSigningKeys(storage: AuthorizationServerStorage): Promise<SigningKeyInfo[]> {
  return await change(storage, (keys) => {
    for (const alg of SIGNING_ALGORITHMS)
      if (!keys.some((k) => stateOf(k) === 'next' && k.alg === alg))
        throw keysError(`no new ${alg} key to activate`, 'run `mcp-oauth keys add` first')
    return keys.map((k) => {
      const state = stateOf(k)
      const next: SigningKeyState = state === 'next' ? 'active' : state === 'active' ? 'retiring' : state
      return state === 'active'
        ? { ...k, mcp_oauth_state: next, mcp_oauth_retiring_since: Math.floor(Date.now() / 1000) }
        : { ...k, mcp_oauth_state: next }
    })
  })
}

/**
 * Least time, seconds, between a key ceasing to sign and its removal: the default access-token lifetime (600 s)
 * plus a minute of clock tolerance, so no unexpired token loses its key.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export const RETIRE_MINIMUM_AGE_SECONDS = 600 + 60

/** Options of {@link retireSigningKeys}. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export interface RetireOptions {
  /** Least seconds since the keys stopped signing (default {@link RETIRE_MINIMUM_AGE_SECONDS}). */
  minimumAgeSeconds?: number
  /** Retire even if tokens they signed may still be unexpired. */
  force?: boolean
  /** Clock, ms since the epoch (tests). */
  now?: () => number
}

/**
 * Removes the `retiring` keys: they leave the JWKS, and tokens they signed stop verifying. Refused while a
 * retiring key stopped signing less than `minimumAgeSeconds` ago, unless `force`.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export async function retireSigningKeys(
  storage: AuthorizationServerStorage,
  options: RetireOptions = {},
): Promise<SigningKeyInfo[]> {
  const minimum = options.minimumAgeSeconds ?? RETIRE_MINIMUM_AGE_SECONDS
  return await change(storage, (keys) => {
    const retiring = keys.filter((k) => stateOf(k) === 'retiring')
    if (retiring.length === 0)
      throw keysError(
        'no retiring key to remove',
        'run `mcp-oauth keys activate` first (see `mcp-oauth keys list`)',
      )
    const since = Math.max(...retiring.map((k) => k.mcp_oauth_retiring_since ?? 0))
    const safeAt = (since + minimum) * 1000
    if (!options.force && (options.now ?? Date.now)() < safeAt)
      throw keysError(
        `the retiring keys stopped signing less than ${minimum} s ago; tokens they signed may still be valid until ${new Date(safeAt).toISOString()}`,
        'run `mcp-oauth keys retire` again after that time, or add `--force` to cut those tokens off now',
      )
    return keys.filter((k) => stateOf(k) !== 'retiring')
  })
}
