/**
 * Hono adapter: a middleware that serves the metadata routes and preflights, authorizes the request and sets
 * `c.var.authInfo` for the MCP route (which passes it on: `mcp.fetch(c.req.raw, { authInfo: c.var.authInfo })`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { MiddlewareHandler } from 'hono'
import type { AuthInfo, ResourceServer } from '../protect.ts'

/** Hono environment the middleware fills. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export type AuthInfoEnv = { Variables: { authInfo: AuthInfo } }

/**
 * Protect Hono routes with a {@link ResourceServer}; the request body is read from a clone, so the route can
 * still read `c.req.raw`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function honoMiddleware(rs: ResourceServer): MiddlewareHandler<AuthInfoEnv> {
  return async (c, next) => {
    let authInfo: AuthInfo | undefined
    const response = await rs.handle(
      c.req.raw,
      (_r, ctx) => {
        authInfo = ctx.authInfo
        return new Response(null, { status: 204 })
      },
      { preserveBody: true },
    )
    if (!authInfo) return response
    c.set('authInfo', authInfo)
    await next()
    for (const h of ['access-control-expose-headers', 'access-control-allow-origin']) {
      const v = response.headers.get(h)
      if (!v || c.res.headers.has(h)) continue
      try {
        c.res.headers.set(h, v)
      } catch {
        // A response taken from fetch() has immutable headers; give Hono a mutable copy.
        c.res = new Response(c.res.body, c.res)
        c.res.headers.set(h, v)
      }
    }
    return undefined
  }
}
