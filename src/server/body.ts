/**
 * Reading a request body under a size cap, once, so the policy can see the JSON-RPC operation and the MCP
 * handler still gets the bytes.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { readChunksUpTo } from '../shared/body.ts'

/** A body too large to read. @see https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14 */
export class BodyTooLargeError extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.name = 'BodyTooLargeError'
    this.limit = limit
  }
}

/**
 * The body as text, refusing more than `maxBytes` (declared or streamed).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.6
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes)
  const chunks = await readChunksUpTo(request.body, maxBytes)
  if (!chunks) throw new BodyTooLargeError(maxBytes)
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0])
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/** Parse JSON, or undefined when the text is not JSON (the MCP handler then answers the parse error). */
export function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    // A leading BOM is dropped, as TextDecoder (and so the SDK) drops it.
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return undefined
  }
}

const knownBodies = new WeakMap<Request, string>()

/**
 * Record the text of a body an adapter already read (node:http, Express), so the kit can see the JSON-RPC
 * operation without reading or copying the request stream.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export function attachBodyText(request: Request, text: string): Request {
  knownBodies.set(request, text)
  return request
}

/** The body text an adapter recorded for `request`, if any. */
export function attachedBodyText(request: Request): string | undefined {
  return knownBodies.get(request)
}
