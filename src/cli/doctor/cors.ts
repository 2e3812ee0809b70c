/**
 * CORS on the metadata endpoints: a browser-based MCP client (an inspector, a web IDE) can only read the
 * metadata when the response allows its origin.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
import type { McpCorsProbe } from './network.ts'
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

const listHas = (list: string | undefined, name: string) =>
  (list ?? '')
    .toLowerCase()
    .split(',')
    .map((x) => x.trim())
    .includes(name)

/**
 * CORS at the MCP endpoint: the preflight must allow the origin and the `Authorization` header (a `*` does not
 * cover it), and the 401 must expose `WWW-Authenticate` so a browser client can read `resource_metadata`.
 * @see https://fetch.spec.whatwg.org/#http-access-control-expose-headers
 */
export function checkMcpCors(p: McpCorsProbe, origin: string): Check {
  const title = 'CORS on the MCP endpoint'
  const originOk = (v: string | undefined) => v === '*' || v === origin
  if (p.error !== undefined || !p.preflight)
    return check('cors.mcp', 'info', title, SPECS.cors, `${p.url}: no response to the CORS probes`)
  const missing: string[] = []
  if (!originOk(p.preflight.allowOrigin))
    missing.push(`the preflight (${p.preflight.status}) allows no origin ${origin}`)
  else if (!listHas(p.preflight.allowHeaders, 'authorization'))
    missing.push('the preflight does not allow the Authorization header')
  if (p.challenge && !originOk(p.challenge.allowOrigin))
    missing.push(`the ${p.challenge.status} answer carries no access-control-allow-origin`)
  else if (
    p.challenge?.status === 401 &&
    !listHas(p.challenge.exposeHeaders, 'www-authenticate') &&
    p.challenge.exposeHeaders?.trim() !== '*'
  )
    missing.push('the 401 does not expose WWW-Authenticate (access-control-expose-headers)')
  if (missing.length === 0)
    return check(
      'cors.mcp',
      'pass',
      title,
      SPECS.cors,
      `${p.url}: preflight allows Authorization; the 401 exposes WWW-Authenticate`,
    )
  return check(
    'cors.mcp',
    'warn',
    title,
    SPECS.cors,
    `${p.url}: ${missing.join('; ')}: browser-based clients cannot sign in`,
    {
      diagnosis: 'cors_missing',
      fix: 'Answer OPTIONS with Access-Control-Allow-Origin and Allow-Headers "authorization, content-type, mcp-protocol-version", and send "Access-Control-Expose-Headers: WWW-Authenticate" with the 401.',
    },
  )
}
