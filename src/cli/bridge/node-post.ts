/**
 * The bridge's steady-state POST on Node's own HTTP client (the process's kept-alive global agents) instead of
 * fetch: a forwarded message needs a status, three headers and the body as text, and fetch's Request, Headers,
 * Response and web-stream objects cost several times the CPU and garbage of the exchange itself (measured in
 * bench/proxy). Anything unusual (a DPoP-bound token, a 401/403, a redirect, a proxy, a kept-alive connection the
 * server closed as it was reused) is handed back to the authorized fetch, which owns sign-in, refresh, step-up and
 * DPoP; without a stored session the request goes out with no token and the server's 401 hands it back.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#sending-messages-to-the-server
 */
import type { IncomingMessage } from 'node:http'
import { urlToHttpOptions } from 'node:url'
import { networkError } from '../../client/http.ts'
import type { Session } from '../../client/session.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'

/** What a POST answered, read the same way whichever client sent it. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#sending-messages-to-the-server */
export interface Answer {
  status: number
  /** One response header (lower-case name). */
  header(name: string): string | undefined
  text(): Promise<string>
  /** Hands the body on as decoded text, chunk by chunk as it arrives; resolves at its end. */
  each(onChunk: (text: string) => void): Promise<void>
  discard(): Promise<void>
}

/**
 * Sends one POST; undefined means "not on this path": the caller sends the same message through the authorized fetch.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
export type Post = (
  url: string,
  headers: Record<string, string>,
  body: string,
  options?: {
    timeoutMs?: number
    /** GET (the 2025 session's stream) and DELETE (its end) take this path too; POST by default. */
    method?: 'GET' | 'DELETE'
    signal?: AbortSignal
  },
) => Promise<Answer | undefined>

/** A fetch Response as an {@link Answer}. @see https://fetch.spec.whatwg.org/#response-class */
export function fetchAnswer(response: Response): Answer {
  let discarded = false
  return {
    status: response.status,
    header: (name) => response.headers.get(name) ?? undefined,
    text: () => response.text(),
    async each(onChunk) {
      if (!response.body) return
      const decoder = new TextDecoder()
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        // Leaving the loop cancels the stream (the reader holds its lock, so cancel() itself would be refused).
        if (discarded) break
        onChunk(decoder.decode(chunk, { stream: true }))
      }
    },
    discard: async () => {
      discarded = true
      if (!response.body?.locked) await response.body?.cancel().catch(() => {})
    },
  }
}

function nodeAnswer(res: IncomingMessage, target: URL, cut: () => Error | undefined): Answer {
  res.setEncoding('utf8')
  // Why the body stopped: our own timer or abort when it was that, else the network, as a typed error with a hint.
  const failed = (e: unknown) => networkError(cut() ?? e, target)
  // Events rather than an async iterator: an SSE answer of one event is the common case, and the iterator's
  // promise per chunk is most of its cost.
  const each = (onChunk: (text: string) => void) =>
    new Promise<void>((resolve, reject) => {
      res.on('data', onChunk)
      res.once('end', resolve)
      res.once('error', (e) => reject(failed(e)))
      // A connection cut mid-answer: 'aborted' without 'end' must not leave the request waiting for ever.
      res.once('close', () =>
        res.complete ? resolve() : reject(failed(new Error('the server closed the connection mid-answer'))),
      )
    })
  return {
    status: res.statusCode ?? 0,
    header: (name) => {
      const v = res.headers[name]
      return Array.isArray(v) ? v.join(', ') : v
    },
    async text() {
      let text = ''
      await each((chunk) => {
        text += chunk
      })
      return text
    },
    each,
    discard: async () => {
      // A short body (a 202, an error) is drained so its kept-alive connection serves the next request; a stream
      // (SSE, or a body over the reader's cap) is cut, which closes that connection.
      const length = Number(res.headers['content-length'] ?? Number.NaN)
      if (!res.complete && !(length <= 64 * 1024)) return void res.destroy()
      // Waiting for the end hands the connection back to the pool before the caller's next request.
      await new Promise<void>((resolve) => {
        if (res.readableEnded || res.destroyed) return resolve()
        // The agent takes the socket back on the tick after the end.
        res.once('end', () => setImmediate(resolve))
        res.once('error', () => resolve())
        res.resume()
      })
    },
  }
}

const USER_AGENT = 'mcp-oauth'

function abortedError(): Error {
  return Object.assign(new Error('the request was stopped'), { name: 'AbortError' })
}

function badHeader(cause: unknown): Error {
  const name = /"([^"]+)"/.exec(cause instanceof Error ? cause.message : '')?.[1] ?? 'a header'
  return new InvalidArgumentError('invalid_usage', `the value of ${name} holds a character HTTP forbids`, {
    hint: `Fix that --header value (control characters and line breaks are not allowed), then run the command again.`,
  })
}

function timedOut(ms: number): Error {
  return Object.assign(new Error(`no complete answer within ${ms / 1000} s`), { name: 'TimeoutError' })
}

/** Whether HTTP(S)_PROXY applies to this process (the CLI's network settings): then fetch's proxy path is kept. */
function proxied(envProxy: boolean): boolean {
  const e = process.env
  return envProxy && Boolean(e['HTTPS_PROXY'] || e['https_proxy'] || e['HTTP_PROXY'] || e['http_proxy'])
}

/**
 * A {@link Post} for one session's MCP endpoint that presents the session's Bearer token, as the authorized fetch
 * would; undefined when this process must use fetch for everything (proxy variables in force).
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function sessionPost(session: Session, endpoint: string, envProxy = true): Post | undefined {
  if (proxied(envProxy)) return undefined
  const target = new URL(endpoint)
  // The token is for this server only (MCP: no token passthrough); the bridge posts nowhere else on this path.
  if (target.origin !== new URL(session.server).origin) return undefined
  // Not an ESM import: building node:http's module namespace loads undici, which this path exists to avoid.
  const send =
    target.protocol === 'https:'
      ? process.getBuiltinModule('node:https').request
      : target.protocol === 'http:'
        ? process.getBuiltinModule('node:http').request
        : undefined
  if (!send) return undefined
  // Parsed once: the request options of the endpoint (host, port, path; IPv6 brackets removed).
  const where = urlToHttpOptions(target)
  return async (url, headers, body, options = {}) => {
    if (url !== endpoint) return undefined
    const tokens = await session.tokens()
    if (tokens && tokens.token_type.toLowerCase() !== 'bearer') return undefined
    const method = options.method ?? 'POST'
    // fetch sends a User-Agent; some WAF rule sets refuse requests without one.
    const out: Record<string, string> = { 'user-agent': USER_AGENT }
    if (method === 'POST') out['content-length'] = String(Buffer.byteLength(body))
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
    if (tokens) out['authorization'] = `Bearer ${tokens.access_token}`
    let cut: Error | undefined
    const res = await new Promise<IncomingMessage | undefined>((resolve, reject) => {
      let req: ReturnType<typeof send>
      try {
        req = send(
          { ...where, method, headers: out, ...(options.signal ? { signal: options.signal } : {}) },
          resolve,
        )
      } catch (cause) {
        // A header value Node refuses: name the header, never its value (it may be a credential).
        return reject(badHeader(cause))
      }
      req.once('error', (cause) => {
        // A kept-alive connection the server closed as we reused it: nothing was answered, so fetch sends it again
        // on a fresh connection.
        if (req.reusedSocket && (cause as NodeJS.ErrnoException).code === 'ECONNRESET')
          return resolve(undefined)
        reject(networkError(cut ?? cause, target))
      })
      options.signal?.addEventListener(
        'abort',
        () => {
          cut ??= abortedError()
        },
        { once: true },
      )
      if (options.timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          cut = timedOut(options.timeoutMs!)
          req.destroy(cut)
        }, options.timeoutMs)
        req.once('close', () => clearTimeout(timer))
      }
      req.end(method === 'POST' ? body : undefined)
    })
    if (!res) return undefined
    const status = res.statusCode ?? 0
    // Sign-in, refresh, step-up and redirects belong to the authorized fetch: the server refused or moved this
    // request, so sending it again there is safe.
    if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
      res.resume()
      return undefined
    }
    return nodeAnswer(res, target, () => cut)
  }
}
