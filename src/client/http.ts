/**
 * Bounded HTTP for metadata and registration: size and time limits, same-origin redirects only,
 * transport security (https except loopback), and a trace entry for every request.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { readChunksUpTo } from '../shared/body.ts'
import { ProtocolViolationError, SPEC, TransportError } from '../shared/errors.ts'
import { classifyNetworkFailure, TLS_FAILURES } from '../shared/network-failure.ts'
import { redactUrl, redactUrlsIn } from '../shared/redact.ts'
import { isLoopbackUrl } from '../shared/resource.ts'
import type { DiscoveryTrace, TraceStep, TraceStepKind } from './trace.ts'

/** A fetch-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Limits and policy for engine-side HTTP. */
export interface HttpOptions {
  fetch?: FetchLike
  /** Largest JSON body accepted, in bytes. Metadata documents are a few KB. */
  maxBodyBytes?: number
  timeoutMs?: number
  /** Allow http:// to non-loopback hosts (named loosening of the default). */
  allowHttp?: boolean
  signal?: AbortSignal
}

/** Defaults: 1 MiB bodies, 10 s per request. */
export const DEFAULT_HTTP: Required<Pick<HttpOptions, 'maxBodyBytes' | 'timeoutMs'>> = {
  maxBodyBytes: 1024 * 1024,
  timeoutMs: 10_000,
}

/** Refuse http:// for non-loopback hosts unless `allowHttp`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export function assertSecureUrl(url: string | URL, what: string, allowHttp = false): URL {
  const u = new URL(String(url))
  if (u.protocol === 'https:') return u
  if (u.protocol === 'http:' && (allowHttp || isLoopbackUrl(u))) return u
  throw new ProtocolViolationError('insecure_url', `${what} ${u.origin} is not https`, {
    spec: SPEC.mcpSecurity,
    hint: 'OAuth endpoints must use https:// (http:// only on loopback); use --allow-http only for a trusted development server.',
    details: { url: u.origin + u.pathname },
  })
}

/** Read at most `max` bytes of a body; more is an error, not a truncation. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export async function readLimited(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '')
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge(response.url, max)
  }
  const chunks = await readChunksUpTo(response.body, max)
  if (!chunks) throw tooLarge(response.url, max)
  // Web-standard decoding (no Buffer): the engine also runs in browsers.
  const decoder = new TextDecoder()
  return chunks.map((c) => decoder.decode(c, { stream: true })).join('') + decoder.decode()
}

/** The error for a body over its byte cap. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export function tooLarge(url: string, max: number): ProtocolViolationError {
  return new ProtocolViolationError(
    'response_too_large',
    `response from ${safeUrl(url)} exceeds ${max} bytes`,
    {
      spec: SPEC.mcpSecurity,
      hint: 'The server sent an oversized document; its operator must fix it.',
    },
  )
}

/**
 * Turn a failed fetch into a TransportError naming the cause (unknown host, refused connection, TLS certificate,
 * timeout) and its fix, with the URL redacted.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4
 */
export function networkError(cause: unknown, url: string | URL): TransportError {
  const where = safeUrl(url)
  let host = where
  let port = ''
  try {
    const u = new URL(String(url))
    host = u.hostname
    port = u.port || (u.protocol === 'https:' ? '443' : '80')
  } catch {}
  const f = classifyNetworkFailure(cause)
  const code = f.nodeCode ? ` (${f.nodeCode})` : ''
  const doctor = `run \`mcp-oauth doctor ${where}\` for the whole chain`
  const spec = 'https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4'
  const details = { url: where, ...(f.nodeCode ? { node_code: f.nodeCode } : {}), cause: f.kind }
  if (f.kind === 'tls') {
    const t = TLS_FAILURES[f.nodeCode!]!
    return new TransportError(t.code, `TLS failed for ${where}: ${t.what}${code}`, {
      spec,
      hint:
        t.code === 'tls_expired'
          ? "The server's certificate is out of its validity period; its operator must renew it."
          : t.code === 'tls_name_mismatch'
            ? 'The certificate does not match the host name; use the name on the certificate, or ask the operator to fix it.'
            : 'If you trust this server (corporate TLS or a development certificate), pass its CA with --ca-file FILE; never disable TLS checks.',
      cause,
      details: { ...details, tls_error: f.nodeCode },
    })
  }
  if (f.kind === 'dns')
    return new TransportError(
      'host_not_found',
      `cannot reach ${where}: the host name ${host} was not found${code}`,
      {
        spec,
        hint: `Check the host name in the URL for a typo (and your DNS or proxy settings); ${doctor}.`,
        cause,
        details,
      },
    )
  if (f.kind === 'refused')
    return new TransportError(
      'connection_refused',
      `cannot reach ${where}: ${host} refused the connection on port ${port}${code}`,
      {
        spec,
        hint: `Check the port in the URL and that the server is running there; ${doctor}.`,
        cause,
        details,
      },
    )
  if (f.kind === 'timeout')
    return new TransportError('timeout', `cannot reach ${where}: no answer in time${code}`, {
      spec,
      hint: `The server or the network is slow or filtered (firewall, proxy: HTTPS_PROXY); retry, or ${doctor}.`,
      cause,
      details,
    })
  return new TransportError('network_error', `cannot reach ${where}: ${redactUrlsIn(f.message)}${code}`, {
    spec: SPEC.mcpDiscovery,
    hint: `Check the URL, that the server is up, and your network or proxy settings (HTTPS_PROXY); ${doctor}.`,
    cause,
    details,
  })
}

/** The URL without userinfo, query or fragment, for messages and traces. @see https://www.rfc-editor.org/rfc/rfc3986#section-7.5 */
export function safeUrl(url: string | URL): string {
  return redactUrl(url)
}

/** The outcome of {@link getJson}. */
export interface JsonResult {
  status: number
  headers: Headers
  url: string
  json?: unknown
  step: TraceStep
}

const TRACE_HEADERS = ['cache-control', 'access-control-allow-origin', 'content-type', 'age', 'expires']

/**
 * GET (or POST) a JSON document with limits, following same-origin redirects only, recording a trace step.
 * Network failures become `TransportError`; HTTP errors are returned, not thrown.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
export async function requestJson(
  url: string,
  kind: TraceStepKind,
  trace: DiscoveryTrace | undefined,
  options: HttpOptions & { init?: RequestInit } = {},
): Promise<JsonResult> {
  const doFetch = options.fetch ?? globalThis.fetch
  const max = options.maxBodyBytes ?? DEFAULT_HTTP.maxBodyBytes
  const started = performance.now()
  let current = assertSecureUrl(url, 'URL', options.allowHttp)
  const origin = current.origin
  const step: TraceStep = { kind, url: safeUrl(current), outcome: 'ok' }
  try {
    for (let hops = 0; ; hops++) {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? DEFAULT_HTTP.timeoutMs)]
      if (options.signal) signals.push(options.signal)
      const response = await doFetch(current, {
        ...options.init,
        headers: { accept: 'application/json', ...(options.init?.headers as Record<string, string>) },
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      })
      step.status = response.status
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel().catch(() => {})
        const next = new URL(response.headers.get('location')!, current)
        if (next.origin !== origin) {
          step.outcome = 'rejected'
          step.code = 'cross_origin_redirect'
          throw new ProtocolViolationError(
            'cross_origin_redirect',
            `${safeUrl(current)} redirects to another origin (${next.origin})`,
            {
              spec: SPEC.mcpSecurity,
              hint: 'Metadata must be served from its own origin; the operator must remove the redirect.',
            },
          )
        }
        if (hops >= 3) {
          step.outcome = 'rejected'
          step.code = 'too_many_redirects'
          throw new ProtocolViolationError('too_many_redirects', `${safeUrl(url)} redirects too many times`, {
            spec: SPEC.mcpSecurity,
            hint: 'The server redirects in a loop; its operator must fix the metadata URL.',
          })
        }
        current = assertSecureUrl(next, 'redirect target', options.allowHttp)
        continue
      }
      step.headers = {}
      for (const h of TRACE_HEADERS) {
        const v = response.headers.get(h)
        if (v !== null) step.headers[h] = v
      }
      let json: unknown
      if (response.ok) {
        const text = await readLimited(response, max)
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          step.outcome = 'invalid'
          step.code = 'invalid_json'
        }
      } else {
        step.outcome = response.status === 404 ? 'not-found' : 'http-error'
        // Keep small error bodies (OAuth error JSON); never more than the limit.
        const text = await readLimited(response, Math.min(max, 64 * 1024)).catch(() => '')
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          json = undefined
        }
      }
      return { status: response.status, headers: response.headers, url: current.href, json, step }
    }
  } catch (cause) {
    if (cause instanceof ProtocolViolationError) {
      if (step.outcome === 'ok') {
        step.outcome = 'rejected'
        step.code = cause.code
      }
      throw cause
    }
    const error = networkError(cause, current)
    step.outcome = 'network-error'
    step.code = error.code
    step.note = error.message
    throw error
  } finally {
    step.ms = Math.round(performance.now() - started)
    trace?.add(step)
  }
}
