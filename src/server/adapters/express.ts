/**
 * Express adapter: one middleware that serves the metadata routes and preflights, authorizes the request and
 * sets `req.auth` (the SDK's convention, read by its Streamable HTTP transport) before calling `next()`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { Request as ExpressRequest, Response as ExpressResponse, NextFunction } from 'express'
import { attachBodyText } from '../body.ts'
import type { AuthInfo, ResourceServer } from '../protect.ts'
import { NodeBodyTooLargeError, readNodeBody, toWebRequest, writeWebResponse } from './node-http.ts'

/** What the middleware adds to the Express request. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface AuthorizedExpressRequest extends ExpressRequest {
  auth?: AuthInfo
}

/**
 * Protect Express routes with a {@link ResourceServer}. Mount it before the MCP route (and after
 * `express.json()` if you use it; without it the middleware reads and parses the JSON body itself).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function expressMiddleware(
  rs: ResourceServer,
  options: { maxBodyBytes?: number; origin?: string } = {},
): (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024
  return (req, res, next) => {
    void (async () => {
      // body-parser 1 marks `_body`; body-parser 2 (Express 5) leaves the stream ended; either way it is read.
      const parsedByApp =
        (req as { _body?: boolean })._body === true || req.readableEnded || req.body !== undefined
      let text: string | undefined
      if (!parsedByApp && req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
        try {
          text = (await readNodeBody(req, maxBodyBytes)).toString('utf8')
        } catch (e) {
          const tooLarge = e instanceof NodeBodyTooLargeError
          res.status(tooLarge ? 413 : 400).json({
            error: tooLarge ? 'payload_too_large' : 'bad_request',
            error_description: tooLarge ? (e as Error).message : 'could not read the request body',
          })
          return
        }
        // Leave the body where body-parser would have put it, so the MCP route can use it.
        try {
          req.body = text === '' ? undefined : JSON.parse(text)
        } catch {
          req.body = undefined
        }
        ;(req as { _body?: boolean })._body = true
      }
      const origin = options.origin ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`
      // originalUrl, not url: under app.use('/mcp', …) Express strips the mount path from req.url.
      const request = toWebRequest(req, undefined, { origin, path: req.originalUrl })
      const bodyText = text ?? (parsedByApp && req.body !== undefined ? JSON.stringify(req.body) : undefined)
      if (bodyText !== undefined) attachBodyText(request, bodyText)
      let authInfo: AuthInfo | undefined
      const response = await rs.handle(request, (_r, ctx) => {
        authInfo = ctx.authInfo
        return new Response(null, { status: 204 })
      })
      if (!authInfo) {
        await writeWebResponse(res, response)
        return
      }
      ;(req as AuthorizedExpressRequest).auth = authInfo
      res.locals['authInfo'] = authInfo
      for (const h of ['access-control-expose-headers', 'access-control-allow-origin']) {
        const v = response.headers.get(h)
        if (v) res.setHeader(h, v)
      }
      next()
    })().catch(next)
  }
}
