/**
 * The loopback redirect listener of a native app: binds 127.0.0.1 (and ::1 for `localhost`), answers every request
 * with `Connection: close`, checks `state` and `iss` before the code goes anywhere, and when a fixed port is held by
 * a sibling mcp-oauth process, asks it to relay this flow's callback instead of crashing.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
// Types only: an ESM import of node:http builds its namespace, which loads undici (a third of `connect`'s start-up).
import type http from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { InteractionRequiredError, InvalidArgumentError, SPEC } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/redact.ts'
import type { AuthorizeContext, Authorizer } from '../authorizer.ts'
import { hasDisplay, openBrowser } from './browser.ts'
import { type CallbackVerdict, validateCallback } from './callback.ts'
import { closeServer, listenAll, portInUse, send } from './listener.ts'
import { abortedError, outcomeOf } from './outcome.ts'
import { page, relayedPage, wrongStatePage } from './pages.ts'
import { CallbackRelay } from './relay.ts'
import { pollRelay, probeSibling, RELAY_PATH, registerRelay, WHOAMI_PATH } from './sibling.ts'

/** Options of {@link loopbackAuthorizer}. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface LoopbackOptions {
  /** Host written in the redirect URI. `localhost` listens on 127.0.0.1 and ::1. Default `127.0.0.1` (RFC 8252 §8.3). */
  host?: '127.0.0.1' | 'localhost' | '::1'
  /** Fixed port a pre-registered client needs; 0 or absent: an ephemeral port. */
  port?: number
  /** Callback path. Default `/callback`. */
  path?: string
  /** How the person is sent to the URL (after it was printed). Default: the system browser when there is a display. */
  open?: (url: URL, context: AuthorizeContext) => void | Promise<void>
  /** How long one sign-in may take. Default 5 minutes. */
  timeoutMs?: number
  /** Cancels every flow of this authorizer. */
  signal?: AbortSignal
  /** One human line at a time (stderr by default). Never receives tokens or codes. */
  log?: (line: string) => void
  /** Relay through a sibling mcp-oauth process that holds the fixed port. Default true. */
  cooperate?: boolean
}

interface Pending {
  context: AuthorizeContext
  finish(result: URL | Error): void
}

const IDLE_CLOSE_MS = 1500

/** A loopback authorizer; `close()` frees the port at once. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface LoopbackAuthorizer extends Authorizer {
  redirectUri: () => Promise<string>
  close(): Promise<void>
  /** The port listened on (or relayed through); undefined while idle. */
  readonly port: number | undefined
  /** `listening`, `relay` (a sibling holds the port) or `idle`. */
  readonly mode: 'idle' | 'listening' | 'relay'
  /**
   * Hand over a callback URL obtained another way (pasted by the person) to the flow waiting for its state.
   * Returns the verdict kind (`wrong_state` when no flow waits for it); the flow settles as for a browser callback.
   */
  submit(callback: URL): CallbackVerdict['kind']
}

/**
 * Create a loopback callback authorizer. The listener starts when the redirect URI is asked for and stops shortly
 * after the last flow settles, so no browser tab ever targets a port nobody answers on for long.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function loopbackAuthorizer(options: LoopbackOptions = {}): LoopbackAuthorizer {
  return new LoopbackServer(options)
}

class LoopbackServer implements LoopbackAuthorizer {
  readonly #host: '127.0.0.1' | 'localhost' | '::1'
  readonly #path: string
  readonly #fixedPort: number
  readonly #options: LoopbackOptions
  readonly #log: (line: string) => void
  #servers: http.Server[] = []
  #port: number | undefined
  #lastPort: number | undefined
  #mode: 'idle' | 'listening' | 'relay' = 'idle'
  #binding: Promise<void> | undefined
  #idleTimer: NodeJS.Timeout | undefined
  readonly #pending = new Map<string, Pending>()
  readonly #flows = new Set<Pending>()
  readonly #relay = new CallbackRelay({
    ownsState: (state) => this.#pending.has(state),
    hold: () => clearTimeout(this.#idleTimer),
    release: () => this.#scheduleIdleClose(),
  })

  constructor(options: LoopbackOptions) {
    this.#options = options
    this.#host = options.host ?? '127.0.0.1'
    this.#path = options.path ?? '/callback'
    this.#fixedPort = options.port ?? 0
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
    if (!this.#path.startsWith('/')) {
      throw new InvalidArgumentError(
        'invalid_callback_path',
        `callback path must start with "/": ${this.#path}`,
        {
          spec: SPEC.rfc8252,
        },
      )
    }
    if (!Number.isInteger(this.#fixedPort) || this.#fixedPort < 0 || this.#fixedPort > 65535) {
      throw new InvalidArgumentError(
        'invalid_callback_port',
        `callback port out of range: ${this.#fixedPort}`,
        {
          spec: SPEC.rfc8252,
        },
      )
    }
  }

  get port(): number | undefined {
    return this.#port
  }

  get mode(): 'idle' | 'listening' | 'relay' {
    return this.#mode
  }

  redirectUri = async (): Promise<string> => {
    await this.#ensure(undefined)
    return this.#uri(this.#port!)
  }

  async authorize(url: URL, context: AuthorizeContext): Promise<URL> {
    const signal = anySignal([context.signal, this.#options.signal])
    if (signal?.aborted) throw abortedError(signal.reason)
    await this.#ensure(this.#portOf(url))
    if (this.#pending.has(context.state)) {
      throw new InvalidArgumentError('state_reused', 'a sign-in with this state is already waiting', {
        spec: SPEC.rfc6749,
      })
    }
    if (this.#mode === 'relay') {
      // Registered before the person is sent anywhere: an instant redirect must not beat the first long-poll.
      await registerRelay(this.#probeHost(), this.#port!, context.state).catch(() => {})
    }
    const relay = new AbortController()
    const result = new Promise<URL>((resolve, reject) => {
      const timeoutMs = this.#options.timeoutMs ?? 300_000
      const timer = setTimeout(() => {
        finish(
          new InteractionRequiredError(
            'sign_in_timeout',
            `no sign-in response within ${Math.round(timeoutMs / 1000)} s`,
            {
              spec: SPEC.rfc8252,
              hint: 'finish the sign-in in the browser sooner, or start it again',
            },
          ),
        )
      }, timeoutMs)
      const onAbort = () => finish(abortedError(signal?.reason))
      signal?.addEventListener('abort', onAbort, { once: true })
      const finish = (outcome: URL | Error) => {
        if (!this.#flows.delete(pending)) return
        if (this.#pending.get(context.state) === pending) this.#pending.delete(context.state)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        relay.abort()
        this.#scheduleIdleClose()
        if (outcome instanceof Error) reject(outcome)
        else resolve(outcome)
      }
      const pending: Pending = { context, finish }
      this.#flows.add(pending)
      if (this.#mode === 'listening') this.#pending.set(context.state, pending)
      else void this.#relayed(pending, relay.signal)
      // Aborted while the listener was being set up: 'abort' does not fire again for it.
      if (signal?.aborted) onAbort()
    })
    await this.#announce(url, context)
    return await result
  }

  submit(callback: URL): CallbackVerdict['kind'] {
    const state = callback.searchParams.get('state')
    const pending = [...this.#flows].find((p) => p.context.state === state)
    if (!pending) return 'wrong_state'
    const verdict = validateCallback(callback, pending.context)
    const outcome = outcomeOf(verdict, pending.context.resource)
    if (outcome.result !== undefined) pending.finish(outcome.result)
    return verdict.kind
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer)
    for (const p of [...this.#flows]) p.finish(abortedError(new Error('authorizer closed')))
    await this.#closeServers()
  }

  async #announce(url: URL, context: AuthorizeContext): Promise<void> {
    this.#log(`To sign in to ${redactUrl(context.resource)}, open this URL in a browser:\n  ${url.href}`)
    const open = this.#options.open ?? (hasDisplay() ? (u: URL) => openBrowser(u) : undefined)
    if (!open) return
    try {
      await open(url, context)
    } catch (error) {
      this.#log(`Could not open a browser (${(error as Error).message}); open the URL above yourself.`)
    }
  }

  /** The port a redirect_uri in the authorization URL demands, when it points at this listener. */
  #portOf(url: URL): number | undefined {
    const raw = url.searchParams.get('redirect_uri')
    if (!raw) return undefined
    try {
      const r = new URL(raw)
      if (r.protocol !== 'http:' || r.pathname !== this.#path) return undefined
      if (r.hostname !== this.#host && r.hostname !== `[${this.#host}]`) return undefined
      return r.port ? Number(r.port) : 80
    } catch {
      return undefined
    }
  }

  #uri(port: number): string {
    const host = this.#host === '::1' ? '[::1]' : this.#host
    return `http://${host}:${port}${this.#path}`
  }

  async #ensure(required: number | undefined): Promise<void> {
    while (this.#binding) await this.#binding.catch(() => {})
    if (this.#mode === 'listening' && (required === undefined || required === this.#port)) {
      clearTimeout(this.#idleTimer)
      return
    }
    this.#binding = this.#bindOrRelay(required)
    try {
      await this.#binding
    } finally {
      this.#binding = undefined
    }
  }

  async #bindOrRelay(required: number | undefined): Promise<void> {
    clearTimeout(this.#idleTimer)
    if (this.#mode === 'listening') {
      if (this.#pending.size > 0 || this.#relay.waiting) {
        throw new InvalidArgumentError(
          'redirect_uri_port_changed',
          `the authorization URL targets port ${required} while this listener is busy on ${this.#port}`,
          { spec: SPEC.rfc8252, hint: 'use one redirect URI per authorizer' },
        )
      }
      await this.#closeServers()
    }
    const port = required ?? (this.#fixedPort || this.#lastPort || 0)
    const fixed = required !== undefined || this.#fixedPort !== 0
    // A port whose holder just died can look busy and silent for a moment: look a few times before blaming
    // another program.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#listen(port)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EADDRINUSE' && !fixed && port !== 0) return await this.#listen(0)
        if (code !== 'EADDRINUSE' || !fixed) throw error
      }
      const sibling =
        this.#options.cooperate === false ? undefined : await probeSibling(this.#probeHost(), port)
      if (sibling && sibling.path !== this.#path) throw portInUse(port, sibling)
      if (sibling) {
        if (this.#mode !== 'relay') {
          this.#log(
            `Callback port ${port} is held by another mcp-oauth process (pid ${sibling.pid}); it will relay.`,
          )
        }
        this.#mode = 'relay'
        this.#port = port
        return
      }
      if (attempt >= 5) throw portInUse(port, undefined)
      await delay(100)
    }
  }

  #probeHost(): string {
    return this.#host === '::1' ? '::1' : '127.0.0.1'
  }

  async #listen(port: number): Promise<void> {
    const hosts = this.#host === 'localhost' ? ['127.0.0.1', '::1'] : [this.#host]
    const { servers, port: bound } = await listenAll(hosts, port, () => this.#createServer())
    this.#servers = servers
    this.#port = bound
    this.#lastPort = bound
    this.#mode = 'listening'
  }

  #createServer(): http.Server {
    const server = process.getBuiltinModule('node:http').createServer((req, res) => this.#handle(req, res))
    server.headersTimeout = 10_000
    server.requestTimeout = 15_000
    return server
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let url: URL
    try {
      // Origin-form only: an absolute-form target must not choose the origin of the URL handed to the engine.
      if (!req.url?.startsWith('/')) throw new Error('not origin-form')
      url = new URL(req.url, this.#uri(this.#port ?? 0))
    } catch {
      return send(res, 400, page('Bad request', ['The request target was not understood.'], false))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, page('Method not allowed', ['Only GET is used here.'], false), { Allow: 'GET' })
    }
    if (url.pathname === WHOAMI_PATH) return this.#relay.whoami(req, res, this.#path)
    if (url.pathname === RELAY_PATH) return this.#relay.request(req, res, url)
    if (url.pathname !== this.#path) return send(res, 404, page('Not found', ['Nothing here.'], false))
    const state = url.searchParams.get('state') ?? ''
    const pending = this.#pending.get(state)
    if (pending) {
      const outcome = outcomeOf(validateCallback(url, pending.context), pending.context.resource)
      send(res, outcome.status, outcome.html)
      if (outcome.result !== undefined) pending.finish(outcome.result)
      return
    }
    if (this.#relay.deliver(state, url.href)) return send(res, 200, relayedPage())
    this.#log('Ignored a callback that belongs to no sign-in in progress (wrong state); still waiting.')
    send(res, 400, wrongStatePage())
  }

  /** Wait for this flow's callback through the sibling holding the port; take the port over if the sibling leaves. */
  async #relayed(pending: Pending, signal: AbortSignal) {
    const { state } = pending.context
    while (!signal.aborted) {
      let callback: string | undefined
      try {
        callback = await pollRelay(this.#probeHost(), this.#port!, state, signal)
      } catch {
        if (signal.aborted) return
        try {
          await this.#ensure(this.#port)
        } catch (error) {
          return pending.finish(error as Error)
        }
        if (this.#mode === 'listening') {
          this.#pending.set(state, pending)
          return
        }
        await delay(200, undefined, { signal }).catch(() => {})
        continue
      }
      if (callback === undefined) continue
      const outcome = outcomeOf(
        validateCallback(new URL(callback), pending.context),
        pending.context.resource,
      )
      if (outcome.result !== undefined) return pending.finish(outcome.result)
    }
  }

  #scheduleIdleClose(): void {
    clearTimeout(this.#idleTimer)
    if (this.#mode === 'idle' || this.#busy()) return
    this.#idleTimer = setTimeout(() => {
      if (!this.#busy() && !this.#binding) void this.#closeServers()
    }, IDLE_CLOSE_MS)
    this.#idleTimer.unref()
  }

  /** Whether a flow, a relayed sibling or a relayed callback still needs the port. */
  #busy(): boolean {
    const relayBusy = this.#relay.busy()
    return this.#flows.size > 0 || relayBusy
  }

  async #closeServers(): Promise<void> {
    const servers = this.#servers
    this.#servers = []
    this.#mode = 'idle'
    this.#port = undefined
    this.#relay.closeAll()
    await Promise.all(servers.map(closeServer))
  }
}

function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined)
  if (present.length === 0) return undefined
  return present.length === 1 ? present[0] : AbortSignal.any(present)
}
