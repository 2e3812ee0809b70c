/**
 * A remote JSON Web Key Set kept in memory: refetched when older than its maximum age, and when a token names a
 * `kid` it does not hold, at most once per cooldown. A token with an unknown `kid` that arrives during the
 * cooldown waits for its end (when that is near) and is checked against the refetched set, so a key published a
 * moment ago is usable at once while a stream of random `kid`s still costs one fetch per cooldown.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'

/** Options of {@link remoteKeySet}. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export interface RemoteKeySetOptions {
  /** Fetches and validates the key set (bounded in time and size by the caller). */
  load: () => Promise<JSONWebKeySet>
  /** Least time between two fetches caused by unknown `kid`s, ms. */
  cooldownMs: number
  /** Longest time a fetched set is used before it is fetched again, ms. */
  cacheMaxAgeMs: number
  /** Longest wait for the cooldown's end before answering "no key" for an unknown `kid`, ms. */
  unknownKidWaitMs: number
  /** Most tokens with an unknown `kid` held waiting at once; beyond it they are answered "no key" at once (default 64). */
  maxUnknownKidWaiters?: number
}

/** Default cap on tokens waiting for the cooldown's end, so random `kid`s cannot pile up held requests. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export const MAX_UNKNOWN_KID_WAITERS = 64

/** A key resolver for `jwtVerify`, plus how many times the set was fetched. @see https://www.rfc-editor.org/rfc/rfc7517 */
export interface RemoteKeySet {
  getKey: JWTVerifyGetKey
  readonly fetches: number
}

/**
 * Builds the resolver; fetches lazily on first use.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export function remoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  let local: JWTVerifyGetKey | undefined
  let fetchedAt = Number.NEGATIVE_INFINITY
  let fetches = 0
  let pending: Promise<void> | undefined
  // One timer per cooldown, shared by every request waiting for it.
  let cooldownEnd: { at: number; promise: Promise<void> } | undefined
  let waiters = 0
  const maxWaiters = options.maxUnknownKidWaiters ?? MAX_UNKNOWN_KID_WAITERS

  const reload = (): Promise<void> => {
    pending ??= (async () => {
      fetches++
      const jwks = await options.load()
      local = createLocalJWKSet(jwks)
      fetchedAt = Date.now()
    })().finally(() => {
      pending = undefined
    })
    return pending
  }

  const waitForCooldownEnd = (at: number): Promise<void> => {
    if (cooldownEnd?.at !== at) {
      const promise = new Promise<void>((resolve) => {
        // Unref'd: a waiting request keeps its socket, and so the process, alive on its own.
        setTimeout(resolve, Math.max(0, at - Date.now())).unref()
      })
      cooldownEnd = { at, promise }
    }
    return cooldownEnd.promise
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!local || Date.now() - fetchedAt >= options.cacheMaxAgeMs) await reload()
    try {
      return await local!(header, token)
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e
    }
    // The kid is unknown: refetch now if the cooldown is over, else wait for its end when that is close.
    const seen = fetchedAt
    const end = seen + options.cooldownMs
    if (Date.now() < end) {
      if (end - Date.now() > options.unknownKidWaitMs || waiters >= maxWaiters)
        throw new errors.JWKSNoMatchingKey()
      waiters++
      try {
        await waitForCooldownEnd(end)
      } finally {
        waiters--
      }
    }
    // Whoever wakes first refetches; the others share that fetch or find it done.
    if (fetchedAt === seen) await reload()
    return local!(header, token)
  }

  return {
    getKey,
    get fetches() {
      return fetches
    },
  }
}
