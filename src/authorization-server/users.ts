/**
 * Local user accounts with memory-hard password hashes (scrypt from node:crypto), checked in constant time.
 * @see https://www.rfc-editor.org/rfc/rfc7914
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { InvalidArgumentError, SPEC } from '../shared/errors.ts'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/** A local account: `username` is also the `sub` of tokens issued to it. */
export interface LocalUser {
  /** Login name and token subject. */
  username: string
  /** A hash from {@link hashPassword}; plain passwords are never stored. */
  passwordHash: string
  /** Name shown on the consent page. */
  displayName?: string
}

/** Where the login page looks accounts up. @see https://openid.net/specs/openid-connect-core-1_0.html#Authenticates */
export interface UserDirectory {
  /** The account if `password` is right, else undefined; takes the same time for unknown users. */
  verify(username: string, password: string): Promise<LocalUser | undefined>
  /** The account with this subject, if any. */
  find(username: string): Promise<LocalUser | undefined>
}

// OWASP's equal-strength scrypt settings trade memory for passes; the lowest memory one (N=2^13: 8 MiB, r=8,
// p=10) costs about the CPU of the former N=2^15, r=8, p=1 (32 MiB) here and is stronger by that table. 32 MiB
// blocks were mapped and faulted in afresh on every derivation (a third of their CPU was page faults, more under
// concurrency); 8 MiB ones are reused from the allocator. Hashes keep their own N, r, p: older ones still verify.
// https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#scrypt
const N = 2 ** 13
const R = 8
const P = 10
const KEY_LENGTH = 32
// Enough for hashes made with the former N=2^15, r=8 (32 MiB).
const MAX_MEM = 64 * 1024 * 1024

// Each derivation holds 8 MiB outside the JS heap: at most two run at once, so a burst of sign-ins costs a
// bounded 16 MiB instead of one block per libuv thread; the others wait their turn (in order).
const MAX_CONCURRENT_DERIVATIONS = 2
let running = 0
const waiting: (() => void)[] = []

async function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_DERIVATIONS) await new Promise<void>((resolve) => waiting.push(resolve))
  else running++
  try {
    return await new Promise((resolve, reject) => {
      scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEM }, (error, key) =>
        error ? reject(error) : resolve(key),
      )
    })
  } finally {
    // The slot passes straight to the next waiter, so `running` never drops below the work in flight.
    const next = waiting.shift()
    if (next) next()
    else running--
  }
}

/** Password derivations running and waiting now (each running one holds 8 MiB). @see https://www.rfc-editor.org/rfc/rfc7914#section-2 */
export function passwordHashingLoad(): { running: number; waiting: number; maxRunning: number } {
  return { running, waiting: waiting.length, maxRunning: MAX_CONCURRENT_DERIVATIONS }
}

/**
 * Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts), with a fresh 16-byte salt.
 * @see https://www.rfc-editor.org/rfc/rfc7914#section-2
 */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8) {
    throw new InvalidArgumentError('password_too_short', 'a password must have at least 8 characters', {
      spec: SPEC.mcpSecurity,
      hint: 'choose a longer password, or omit --user to get a generated one',
    })
  }
  const salt = randomBytes(16)
  const key = await derive(password, salt, N, R, P)
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

interface ParsedHash {
  n: number
  r: number
  p: number
  salt: Buffer
  key: Buffer
}

/**
 * A stored hash's parts, or undefined when it is not one this server would make: the parameters come from storage
 * or a config file, so they are bounded (a hand-edited `scrypt$32768$1$480000$…` fits the memory cap yet would
 * hold a derivation slot for an hour, and two of them would stall every sign-in).
 */
function parseHash(passwordHash: string): ParsedHash | undefined {
  const m = /^scrypt\$(\d{1,6})\$(\d{1,2})\$(\d{1,2})\$([\w-]{16,64})\$([\w-]{43})$/.exec(passwordHash)
  if (!m) return undefined
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const powerOfTwo = n >= 2 ** 10 && n <= 2 ** 16 && (n & (n - 1)) === 0
  // Memory at most that of the former 32 MiB setting; work at most twice today's (N·r·p = 655,360).
  if (!powerOfTwo || r < 1 || r > 16 || p < 1 || p > 16) return undefined
  if (128 * n * r > 32 * 1024 * 1024 || n * r * p > 2 ** 20) return undefined
  return { n, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') }
}

/** Whether a hash was made with today's parameters (older ones are re-hashed at the next sign-in). */
function isCurrent(passwordHash: string): boolean {
  const h = parseHash(passwordHash)
  return h !== undefined && h.n === N && h.r === R && h.p === P
}

/**
 * Checks a password against a {@link hashPassword} hash in constant time; false for a hash it cannot check.
 * @see https://www.rfc-editor.org/rfc/rfc7914
 */
export async function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  const h = parseHash(passwordHash)
  if (!h) return false
  const key = await derive(password, h.salt, h.n, h.r, h.p).catch(() => undefined)
  return key !== undefined && h.key.length === key.length && timingSafeEqual(h.key, key)
}

/**
 * A directory over a fixed list of users (from options or `--user`).
 * @see https://www.rfc-editor.org/rfc/rfc7914
 */
export async function createUserDirectory(users: readonly LocalUser[]): Promise<UserDirectory> {
  const byName = new Map(users.map((user) => [user.username, user]))
  // Unknown names still pay for one hash, so timing does not reveal which accounts exist.
  const decoy = await hashPassword(randomBytes(16).toString('base64url'))
  return {
    async verify(username, password) {
      const user = byName.get(username)
      const ok = await verifyPassword(password, user?.passwordHash ?? decoy)
      return ok && user ? user : undefined
    },
    async find(username) {
      return byName.get(username)
    },
  }
}

/** Accounts kept in the authorization server's storage (managed by `mcp-oauth users`). */
export interface StoredUsers extends UserDirectory {
  /** Creates or replaces an account (the password is hashed here). */
  set(username: string, password: string, displayName?: string): Promise<void>
  /** Deletes an account; resolves whether it existed. */
  remove(username: string): Promise<boolean>
}

/**
 * A user directory in storage (usernames stored hashed like every identifier), optionally falling back to a
 * fixed list first.
 * @see https://www.rfc-editor.org/rfc/rfc7914
 */
export async function createStoredUsers(
  storage: AuthorizationServerStorage,
  fixed: readonly LocalUser[] = [],
): Promise<StoredUsers> {
  const table = storage.adapter('LocalUser')
  const list = await createUserDirectory(fixed)
  const stored = async (username: string): Promise<LocalUser | undefined> => {
    const found = await table.find(username)
    if (!found || typeof found['passwordHash'] !== 'string') return undefined
    return {
      username,
      passwordHash: found['passwordHash'],
      ...(typeof found['displayName'] === 'string' ? { displayName: found['displayName'] } : {}),
    }
  }
  const decoy = await hashPassword(randomBytes(16).toString('base64url'))
  return {
    async find(username) {
      return (await list.find(username)) ?? (await stored(username))
    },
    async verify(username, password) {
      if (await list.find(username)) return list.verify(username, password)
      const user = await stored(username)
      const ok = await verifyPassword(password, user?.passwordHash ?? decoy)
      if (!ok || !user) return undefined
      // A hash made with older parameters takes a different time to check than the decoy, which would tell that
      // the account exists: re-hash it now that the password is known (best effort: the sign-in stands).
      if (!isCurrent(user.passwordHash)) {
        await table
          .upsert(username, {
            passwordHash: await hashPassword(password),
            ...(user.displayName ? { displayName: user.displayName } : {}),
          })
          .catch(() => {})
      }
      return user
    },
    async set(username, password, displayName) {
      if (!/^[^\s:]{1,100}$/.test(username)) {
        throw new InvalidArgumentError(
          'invalid_username',
          'a username has 1 to 100 characters, no spaces or colons',
          {
            spec: SPEC.mcpSecurity,
            hint: 'pick a name like alice or alice@example.com',
          },
        )
      }
      await table.upsert(username, {
        passwordHash: await hashPassword(password),
        ...(displayName ? { displayName } : {}),
      })
    },
    async remove(username) {
      const existed = (await table.find(username)) !== undefined
      await table.destroy(username)
      return existed
    },
  }
}
