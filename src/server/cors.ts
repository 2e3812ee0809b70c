/**
 * CORS for the MCP endpoint: preflight answers and the headers browser clients need to read challenges.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */

const PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers':
    'authorization, content-type, accept, dpop, last-event-id, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name',
  'access-control-max-age': '86400',
}

/** The answer to a CORS preflight on the MCP endpoint. @see https://fetch.spec.whatwg.org/#cors-preflight-fetch */
export function preflight(): Response {
  return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS })
}

const EXPOSED = 'WWW-Authenticate, DPoP-Nonce, Mcp-Session-Id, Mcp-Protocol-Version'

/** Let browser clients read `WWW-Authenticate` (and the MCP session headers) from `response`. @see https://fetch.spec.whatwg.org/#http-access-control-expose-headers */
export function exposeChallenge(response: Response, cors: boolean): Response {
  const h = response.headers
  const existing = h.get('access-control-expose-headers')
  const needsExpose = !(existing && /(^|,)\s*www-authenticate\s*(,|$)/i.test(existing))
  const needsOrigin = cors && !h.has('access-control-allow-origin')
  if (!needsExpose && !needsOrigin) return response
  const apply = (target: Headers) => {
    if (needsExpose)
      target.set('access-control-expose-headers', existing ? `${existing}, ${EXPOSED}` : EXPOSED)
    if (needsOrigin) target.set('access-control-allow-origin', '*')
  }
  try {
    apply(h)
    return response
  } catch {
    // Responses from fetch() have immutable headers; copy them into a mutable response.
    const copy = new Response(response.body, response)
    apply(copy.headers)
    return copy
  }
}

/** `response` with one more header, copying it when its headers are immutable (as fetch() responses are). */
export function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value)
    return response
  } catch {
    const copy = new Response(response.body, response)
    copy.headers.set(name, value)
    return copy
  }
}
