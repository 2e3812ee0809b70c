/**
 * Zoo profile: a CDN or WAF in front of the authorization server's well-known URLs. The CDN answers 403 at the
 * RFC 8414 path-inserted URL and 401 at the OpenID path-inserted one (an edge rule, not the server); the document
 * is reachable at the issuer's path-appended OpenID URL. A client that falls back only on 404 stops at the first
 * refusal and reports the server as broken.
 * Reproduces: https://developers.cloudflare.com/waf/custom-rules/ (block actions answer 403),
 * https://developers.cloudflare.com/cloudflare-one/policies/access/ (Access refuses unauthenticated requests),
 * https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-metadata-discovery
 * (the order of well-known URLs), https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 * What the user sets: nothing.
 */
import { runProfile } from './harness.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['tickets:read', 'tickets:write'] as const
const ttl = 3

runProfile({
  name: 'CDN in front of the well-known URLs',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: ttl,
  revocation: true,
  start: () =>
    startZoo({
      scopes,
      front(_req, res, path) {
        if (path === '/.well-known/oauth-authorization-server/oauth') {
          res.writeHead(403, { 'content-type': 'text/html' }).end('<h1>403 Forbidden</h1>')
          return true
        }
        if (path === '/.well-known/openid-configuration/oauth') {
          res.writeHead(401, { 'content-type': 'text/html' }).end('<h1>401 Authorization Required</h1>')
          return true
        }
        return false
      },
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          issuerPath: '/oauth',
          scopes,
          registration: 'open',
          registeredScope: 'ignored',
          metadata: { oauth: true, openid: true },
          refreshTokens: 'always',
          resourceParameter: 'strict',
          accessTokenTtl: ttl,
        }),
    }),
})
