/**
 * CORS on the metadata endpoints: a browser-based MCP client (an inspector, a web IDE) can only read the
 * metadata when the response allows its origin.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
import { type Check, check, SPECS } from './report.ts'

/** One CORS probe's outcome. */
export interface CorsProbe {
  id: string
  what: string
  url: string
  status?: number
  allowOrigin?: string | undefined
  error?: unknown
}

/**
 * A check per probed metadata URL: `access-control-allow-origin` must be `*` or the probing origin.
 * @see https://fetch.spec.whatwg.org/#http-access-control-allow-origin
 */
export function checkCors(probes: readonly CorsProbe[], origin: string): Check[] {
  return probes.map((p) => {
    const title = `CORS on ${p.what}`
    if (p.error !== undefined || p.status === undefined)
      return check(p.id, 'info', title, SPECS.cors, `${p.url}: no response to the CORS probe`)
    if (p.allowOrigin === '*' || p.allowOrigin === origin)
      return check(
        p.id,
        'pass',
        title,
        SPECS.cors,
        `${p.url} → access-control-allow-origin: ${p.allowOrigin}`,
      )
    return check(
      p.id,
      'warn',
      title,
      SPECS.cors,
      p.allowOrigin
        ? `${p.url} allows only ${p.allowOrigin}, not ${origin}: browser-based clients elsewhere cannot read it`
        : `${p.url} sends no access-control-allow-origin for Origin ${origin}: browser-based clients cannot read it`,
      {
        diagnosis: 'cors_missing',
        fix: 'Send "Access-Control-Allow-Origin: *" on the metadata documents (they are public and carry no credentials).',
      },
    )
  })
}
