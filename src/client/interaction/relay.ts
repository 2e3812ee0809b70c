/**
 * The listening side of sibling cooperation: a process holding a fixed callback port answers `whoami`, keeps the
 * long-polls of siblings by `state`, and hands them the callbacks their flows wait for (buffered for a while when a
 * callback comes between two long-polls).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import type http from 'node:http'
import { send, sendJson } from './listener.ts'
import { page } from './pages.ts'
import { RELAY_HEADER, type SiblingInfo } from './sibling.ts'

const RELAY_HOLD_MS = 25_000
const RELAY_MEMORY_MS = 60_000
const MAX_RELAYED_STATES = 64

/** What the relay asks of the listener it lives in. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface RelayHooks {
  /** Whether a flow of this process waits for `state`: a sibling may not claim it. */
  ownsState(state: string): boolean
  /** A sibling is active: keep the port open. */
  hold(): void
  /** A sibling's long-poll ended: the port may go idle. */
  release(): void
}

/** The relay a listening process keeps for its siblings. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export class CallbackRelay {
  readonly #hooks: RelayHooks
  readonly #waiters = new Map<string, http.ServerResponse>()
  readonly #relayed = new Map<string, string>()
  readonly #states = new Map<string, number>()

  constructor(hooks: RelayHooks) {
    this.#hooks = hooks
  }

  /** Whether a sibling's long-poll is open. */
  get waiting(): boolean {
    return this.#waiters.size > 0
  }

  /** Answer the identity probe (never to a web page). */
  whoami(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    if (req.headers.origin !== undefined)
      return send(res, 403, page('Forbidden', ['Not for web pages.'], false))
    sendJson(res, 200, { app: 'mcp-oauth', pid: process.pid, path } satisfies SiblingInfo)
  }

  /** Answer a sibling's registration or long-poll for its `state`. */
  request(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    if (req.headers.origin !== undefined || req.headers[RELAY_HEADER] !== '1') {
      return send(res, 403, page('Forbidden', ['Not for web pages.'], false))
    }
    const state = url.searchParams.get('state') ?? ''
    if (!state || state.length > 1024 || this.#hooks.ownsState(state))
      return sendJson(res, 409, { error: 'state' })
    if (!this.#states.has(state) && this.#states.size >= MAX_RELAYED_STATES) {
      return sendJson(res, 429, { error: 'too many relayed sign-ins' })
    }
    this.#hooks.hold()
    this.#states.set(state, Date.now())
    if (url.searchParams.get('register') === '1') return sendJson(res, 204, undefined)
    const buffered = this.#relayed.get(state)
    if (buffered !== undefined) {
      this.#relayed.delete(state)
      this.#states.delete(state)
      return sendJson(res, 200, { callback: buffered })
    }
    const previous = this.#waiters.get(state)
    if (previous) sendJson(previous, 204, undefined)
    this.#waiters.set(state, res)
    const hold = setTimeout(() => {
      if (this.#waiters.get(state) === res) this.#waiters.delete(state)
      sendJson(res, 204, undefined)
    }, RELAY_HOLD_MS)
    res.once('close', () => {
      clearTimeout(hold)
      if (this.#waiters.get(state) === res) this.#waiters.delete(state)
      this.#hooks.release()
    })
  }

  /** Hand a callback to the sibling whose flow has this `state`; false when no sibling registered it lately. */
  deliver(state: string, callback: string): boolean {
    const waiter = this.#waiters.get(state)
    if (waiter) {
      this.#waiters.delete(state)
      sendJson(waiter, 200, { callback })
      return true
    }
    const seen = this.#states.get(state)
    if (seen !== undefined && Date.now() - seen < RELAY_MEMORY_MS) {
      // The sibling is between two long-polls: keep the callback for its next one.
      this.#relayed.set(state, callback)
      return true
    }
    return false
  }

  /** Whether a sibling or a kept callback still needs the port (forgetting siblings silent for too long). */
  busy(): boolean {
    const now = Date.now()
    for (const [state, seen] of this.#states) {
      if (now - seen >= RELAY_MEMORY_MS) {
        this.#states.delete(state)
        this.#relayed.delete(state)
      }
    }
    return this.#waiters.size > 0 || this.#relayed.size > 0
  }

  /** Tell every waiting sibling the port is going away. */
  closeAll(): void {
    for (const res of this.#waiters.values()) sendJson(res, 503, { error: 'closing' })
    this.#waiters.clear()
  }
}
