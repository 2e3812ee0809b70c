/**
 * The storage seam of the client: a small key-value interface with compare-and-swap and an optional lock,
 * so several processes can share one session without redeeming a rotating refresh token twice.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { InvalidArgumentError } from '../../shared/errors.ts'

/** A stored value and its generation (incremented on every successful write). */
export interface StoreEntry<T = unknown> {
  value: T
  generation: number
}

/** Result of a compare-and-swap write. */
export type SetResult = { ok: true; generation: number } | { ok: false; current: StoreEntry | undefined }

/** Releases a lock taken with {@link TokenStore.lock}. */
export type Release = () => Promise<void>

/**
 * Where sessions, registrations and cached metadata live. Values are JSON-serializable.
 * `expectedGeneration` makes `set`/`delete` conditional: 0 means "must not exist yet".
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export interface TokenStore {
  /** A short name for status output ("memory", "file", "keychain"). */
  readonly kind: string
  get<T = unknown>(key: string): Promise<StoreEntry<T> | undefined>
  set(key: string, value: unknown, expectedGeneration?: number): Promise<SetResult>
  delete(key: string, expectedGeneration?: number): Promise<boolean>
  /**
   * Mutual exclusion across every user of this store (processes included, for shared stores).
   * Resolves once held; a holder that dies releases it after `ttlMs`.
   */
  lock?(key: string, options?: { ttlMs?: number; signal?: AbortSignal }): Promise<Release>
  /** Keys starting with `prefix` (for `status` and `logout --all`). */
  list?(prefix: string): Promise<string[]>
}

/** The account a session belongs to when none is named: today's single session per server. */
export const DEFAULT_ACCOUNT = 'default'

/**
 * The account name to use: the default when none is given; otherwise letters, digits, `.`, `_`, `-` (1–64), so it
 * fits store keys, file names and command lines unquoted.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export function checkAccount(account: string | undefined): string {
  if (account === undefined || account === '') return DEFAULT_ACCOUNT
  if (/^[A-Za-z0-9._-]{1,64}$/.test(account)) return account
  throw new InvalidArgumentError('invalid_account', `bad account name "${account.slice(0, 40)}"`, {
    hint: 'Name accounts with letters, digits, ".", "_" or "-", e.g. --account work.',
  })
}

function accountSuffix(account: string): string {
  return account === DEFAULT_ACCOUNT ? '' : ` account=${account}`
}

/**
 * The server and account of a `current …` key (see {@link storeKey}); resource URLs hold no spaces, so the account
 * suffix cannot be confused with them.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export function parseCurrentKey(key: string): { server: string; account: string } | undefined {
  const m = /^current (\S+)(?: account=(\S+))?$/.exec(key)
  return m ? { server: m[1]!, account: m[2] ?? DEFAULT_ACCOUNT } : undefined
}

/** Store keys, so that every process names the same thing the same way. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration */
export const storeKey = {
  /** Tokens for one (resource, issuer, client, account); the default account keeps the keys of stores before accounts. */
  session: (resource: string, issuer: string, clientId: string, account: string = DEFAULT_ACCOUNT) =>
    `session ${resource} ${issuer} ${clientId}${accountSuffix(account)}`,
  /** Which issuer and client the current session of a resource (and account) uses. */
  current: (resource: string, account: string = DEFAULT_ACCOUNT) =>
    `current ${resource}${accountSuffix(account)}`,
  /** Client credentials, keyed by the issuer that issued them (MCP 2026-07-28: MUST key by issuer). */
  registration: (issuer: string, registrationKey = 'default') => `registration ${issuer} ${registrationKey}`,
  /** Cached discovery results for a resource. */
  discovery: (resource: string) => `discovery ${resource}`,
  /** When a person was last sent to a browser for (resource, issuer): rate-limits tabs across processes. */
  prompt: (resource: string, issuer: string) => `prompt ${resource} ${issuer}`,
} as const

/**
 * An in-process store: fast, private to the process, gone on exit.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export class MemoryStore implements TokenStore {
  readonly kind = 'memory'
  readonly #data = new Map<string, StoreEntry>()
  readonly #locks = new Map<string, Promise<void>>()

  async get<T>(key: string): Promise<StoreEntry<T> | undefined> {
    const e = this.#data.get(key)
    return e ? { value: structuredClone(e.value) as T, generation: e.generation } : undefined
  }

  async set(key: string, value: unknown, expectedGeneration?: number): Promise<SetResult> {
    const current = this.#data.get(key)
    if (expectedGeneration !== undefined && (current?.generation ?? 0) !== expectedGeneration) {
      return {
        ok: false,
        current: current ? { ...current, value: structuredClone(current.value) } : undefined,
      }
    }
    const generation = (current?.generation ?? 0) + 1
    this.#data.set(key, { value: structuredClone(value), generation })
    return { ok: true, generation }
  }

  async delete(key: string, expectedGeneration?: number): Promise<boolean> {
    const current = this.#data.get(key)
    if (!current) return false
    if (expectedGeneration !== undefined && current.generation !== expectedGeneration) return false
    return this.#data.delete(key)
  }

  async lock(key: string, options: { signal?: AbortSignal } = {}): Promise<Release> {
    for (;;) {
      options.signal?.throwIfAborted()
      const held = this.#locks.get(key)
      if (!held) break
      await held
    }
    let release!: () => void
    this.#locks.set(
      key,
      new Promise<void>((r) => {
        release = r
      }),
    )
    return async () => {
      this.#locks.delete(key)
      release()
    }
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#data.keys()].filter((k) => k.startsWith(prefix))
  }
}
