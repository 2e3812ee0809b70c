/**
 * Refresh-token rotation without forks: each token request runs in a context the SQL adapter sees, so consuming
 * the presented refresh token and storing its successor become one atomic step (the successor row), and a
 * concurrent or retried use of the same token inside the grace window gets the successor already issued.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** What one token request did to a refresh token, as seen by the adapter. @see https://www.rfc-editor.org/rfc/rfc6749#section-6 */
export interface RefreshRotation {
  /** The presented refresh token, once oidc-provider asked to consume it. */
  predecessor?: string
  /** Set when another request rotated `predecessor` first: the successor every retry must get. */
  successor?: string
  /**
   * The rotation's write, held back so the request's later writes (the access token's grant record) join it:
   * one atomic step per refresh. Run before the answer leaves; dropped when the request fails.
   */
  commit?: () => Promise<void>
}

const context = new AsyncLocalStorage<RefreshRotation>()

/** The rotation context of the current request, if any. @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 */
export function currentRefreshRotation(): RefreshRotation | undefined {
  return context.getStore()
}

type TokenContext = { body: unknown; status?: number }

/**
 * oidc-provider middleware: runs each request in a rotation context, writes the rotation the adapter held back
 * once the request answers with a successor and, when another request had already rotated the presented
 * refresh token, answers with that request's successor instead of the one just minted (never stored).
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export async function idempotentRefreshRotation(ctx: TokenContext, next: () => Promise<void>): Promise<void> {
  const rotation: RefreshRotation = {}
  await context.run(rotation, next)
  const body = ctx.body as Record<string, unknown> | null | undefined
  const commit = rotation.commit
  rotation.commit = undefined
  // No successor in the answer (an error after the token was minted): nothing is written, the presented
  // token stays unused and a retry can still rotate it.
  if (commit && body && typeof body === 'object' && typeof body['refresh_token'] === 'string') {
    try {
      await commit()
    } catch {
      // Nothing was stored, so the presented token still works: the client may retry with it.
      ctx.status = 500
      ctx.body = { error: 'server_error', error_description: 'the refresh could not be stored; retry' }
      return
    }
  }
  if (rotation.successor && body && typeof body === 'object' && typeof body['refresh_token'] === 'string') {
    body['refresh_token'] = rotation.successor
  }
}
