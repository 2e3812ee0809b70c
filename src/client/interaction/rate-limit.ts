/**
 * At most one browser tab per session per window, across processes: the time of the last prompt is kept in the
 * shared store and claimed with compare-and-swap, so after a sleep or a reconnect storm only one process opens a tab.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { TransportError } from '../../shared/errors.ts'
import { storeKey, type TokenStore } from '../stores/store.ts'

/** The verdict on one prompt. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export type PromptPermit = { allowed: true } | { allowed: false; lastAt: number; retryAfterMs: number }

/** What is recorded per (resource, issuer). */
interface LastPrompt {
  at: number
  pid: number
}

/**
 * Claim the right to prompt for (resource, issuer) now. The claim itself is the compare-and-swap write, so two
 * processes asking at once cannot both be allowed.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export async function claimPrompt(
  store: TokenStore,
  resource: string,
  issuer: string,
  options: { windowMs?: number; now?: () => number } = {},
): Promise<PromptPermit> {
  const windowMs = options.windowMs ?? 60_000
  const now = (options.now ?? Date.now)()
  const key = storeKey.prompt(resource, issuer)
  const last = await store.get<LastPrompt>(key)
  if (last && now - last.value.at < windowMs && now >= last.value.at) {
    return { allowed: false, lastAt: last.value.at, retryAfterMs: windowMs - (now - last.value.at) }
  }
  const r = await store.set(key, { at: now, pid: process.pid } satisfies LastPrompt, last?.generation ?? 0)
  if (r.ok) return { allowed: true }
  const at = (r.current?.value as LastPrompt | undefined)?.at ?? now
  return { allowed: false, lastAt: at, retryAfterMs: Math.max(windowMs - (now - at), 0) }
}

/**
 * Forget the last prompt for (resource, issuer), after a sign-in completed through it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
export async function releasePrompt(store: TokenStore, resource: string, issuer: string): Promise<void> {
  await store.delete(storeKey.prompt(resource, issuer))
}

/**
 * Whether an error is transient (network, timeout): never a reason to ask the person to sign in again.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof TransportError) return true
  const code = (error as { code?: unknown } | null)?.code
  return (
    typeof code === 'string' &&
    [
      'ECONNRESET',
      'ECONNREFUSED',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ENETUNREACH',
      'UND_ERR_SOCKET',
    ].includes(code)
  )
}
