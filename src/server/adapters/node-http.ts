/**
 * `node:http` adapter: turn an `IncomingMessage` into a web `Request`, write a web `Response` back (streaming,
 * with back-pressure and client aborts), and wrap a fetch-shaped handler as a request listener.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { attachBodyText } from '../body.ts'

/** Options of {@link nodeListener} and {@link toWebRequest}. @see https://www.rfc-editor.org/rfc/rfc9110 */
export interface NodeAdapterOptions {
  /** Largest request body read, bytes (default 4 MiB); larger ones get 413. */
  maxBodyBytes?: number
  /** Public origin (`https://mcp.example.com`) to build request URLs with, instead of the Host header. */
  origin?: string
}

/** A request body over the limit. @see https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14 */
export class NodeBodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.name = 'NodeBodyTooLargeError'
  }
}

/**
 * Read the whole body of a Node request under a cap.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.6
 */
export function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > maxBytes) {
      req.resume()
      reject(new NodeBodyTooLargeError(maxBytes))
      return
    }
    const chunks: Buffer[] = []
    let total = 0
    req.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > maxBytes) {
        req.removeAllListeners('data')
        req.resume()
        reject(new NodeBodyTooLargeError(maxBytes))
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.once('error', reject)
    // A client that disconnects mid-body would otherwise leave this promise pending forever.
    req.once('close', () => {
      if (!req.complete) reject(new Error('client disconnected before sending the whole body'))
    })
  })
}

/**
 * Build a web `Request` from a Node request whose body was already read.
 * @see https://fetch.spec.whatwg.org/#request-class
 */
export function toWebRequest(
  req: IncomingMessage,
  body: Uint8Array | string | undefined,
  options: { origin?: string; signal?: AbortSignal; path?: string } = {},
): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  const origin =
    options.origin ??
    `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`
  const method = req.method ?? 'GET'
  const init: RequestInit = { method, headers }
  if (options.signal) init.signal = options.signal
  if (body !== undefined && method !== 'GET' && method !== 'HEAD') init.body = body
  const request = new Request(`${origin}${options.path ?? req.url ?? '/'}`, init)
  // The kit reads the operation from this copy instead of the stream, which stays untouched for the handler.
  if (init.body !== undefined)
    // Decoded as the SDK decodes it (TextDecoder drops a BOM), so the kit judges the request the handler runs.
    attachBodyText(request, typeof body === 'string' ? body : new TextDecoder().decode(body!))
  return request
}

/**
 * Write a web `Response` to a Node response, streaming the body and stopping when the client goes away.
 * @see https://fetch.spec.whatwg.org/#response-class
 */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  const setCookies = response.headers.getSetCookie()
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    res.setHeader(name, value)
  }
  if (setCookies.length) res.setHeader('set-cookie', setCookies)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  const onClose = () => {
    reader.cancel().catch(() => {})
  }
  res.once('close', onClose)
  try {
    // Streaming responses (SSE) must reach the client before the stream ends.
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) res.flushHeaders()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await new Promise<void>((r) => res.once('drain', r))
    }
    res.end()
  } catch {
    res.destroy()
  } finally {
    res.off('close', onClose)
  }
}

/**
 * A `node:http` request listener around a fetch-shaped handler (for example `(r) => rs.handle(r, next)`).
 * @see https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener
 */
export function nodeListener(
  handler: (request: Request) => Response | Promise<Response>,
  options: NodeAdapterOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024
  return (req, res) => {
    void (async () => {
      const controller = new AbortController()
      res.once('close', () => {
        if (!res.writableFinished) controller.abort()
      })
      let body: Buffer | undefined
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        try {
          body = await readNodeBody(req, maxBodyBytes)
        } catch (e) {
          const tooLarge = e instanceof NodeBodyTooLargeError
          await writeWebResponse(
            res,
            Response.json(
              tooLarge
                ? { error: 'payload_too_large', error_description: (e as Error).message }
                : { error: 'bad_request', error_description: 'could not read the request body' },
              { status: tooLarge ? 413 : 400 },
            ),
          )
          return
        }
      }
      let request: Request
      try {
        request = toWebRequest(req, body, {
          signal: controller.signal,
          ...(options.origin ? { origin: options.origin } : {}),
        })
      } catch {
        // A Host header or target that does not make a URL is the client's mistake, not a server failure.
        await writeWebResponse(
          res,
          Response.json(
            { error: 'bad_request', error_description: 'the request URL or Host header is malformed' },
            { status: 400 },
          ),
        )
        return
      }
      let response: Response
      try {
        response = await handler(request)
      } catch {
        response = Response.json(
          { error: 'server_error', error_description: 'the request handler failed' },
          { status: 500 },
        )
      }
      await writeWebResponse(res, response)
    })()
  }
}
