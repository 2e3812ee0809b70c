/**
 * Outbound HTTP for verifiers (JWKS, metadata, introspection): a deadline and a body size cap on every call, so
 * a hanging or flooding authorization server costs bounded time and memory.
 * @see https://www.rfc-editor.org/rfc/rfc9110
 */
import { readChunksUpTo } from '../../shared/body.ts'
import { VerifierUnavailableError } from './verifier.ts'

/** Limits on one outbound call. @see https://www.rfc-editor.org/rfc/rfc9110 */
export interface BoundedFetchOptions {
  /** Deadline for the whole exchange, headers and body, in milliseconds. */
  timeoutMs: number
  /** Largest body accepted, in bytes. */
  maxBytes: number
  /** The fetch to use (tests, proxies). */
  fetch?: typeof fetch
}

/** A response whose body was read completely within the limits. */
export interface BoundedResponse {
  status: number
  headers: Headers
  text: string
}

/**
 * Fetch with a deadline and a body cap; failures become {@link VerifierUnavailableError} naming the host only.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
 */
export async function boundedFetch(
  url: string,
  init: RequestInit,
  options: BoundedFetchOptions,
): Promise<BoundedResponse> {
  const signal = AbortSignal.timeout(options.timeoutMs)
  const host = safeHost(url)
  let response: Response
  try {
    response = await (options.fetch ?? fetch)(url, { ...init, signal, redirect: 'manual' })
  } catch (cause) {
    throw unavailable(cause, host, options.timeoutMs)
  }
  try {
    const text = await readCapped(response, options.maxBytes, host)
    return { status: response.status, headers: response.headers, text }
  } catch (cause) {
    if (cause instanceof VerifierUnavailableError) throw cause
    throw unavailable(cause, host, options.timeoutMs)
  }
}

function unavailable(cause: unknown, host: string, timeoutMs: number): VerifierUnavailableError {
  const name = (cause as { name?: string } | null)?.name
  const timedOut = name === 'TimeoutError' || name === 'AbortError'
  // The message reaches clients in the 503 body: it names no host (internal addresses stay in `details`).
  return new VerifierUnavailableError(
    timedOut
      ? `the token verification service did not answer within ${timeoutMs} ms`
      : 'the token verification service could not be reached',
    { cause, details: { host, timedOut } },
  )
}

async function readCapped(response: Response, maxBytes: number, host: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw new VerifierUnavailableError(
      `the token verification service sent a ${declared}-byte body (limit ${maxBytes})`,
      {
        details: { host, limit: maxBytes },
      },
    )
  }
  const chunks = await readChunksUpTo(response.body, maxBytes)
  if (!chunks) {
    throw new VerifierUnavailableError(`the token verification service sent more than ${maxBytes} bytes`, {
      details: { host, limit: maxBytes },
    })
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

function safeHost(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the authorization server'
  }
}
