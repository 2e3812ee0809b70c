/**
 * mcp-oauth-toolkit/server: protect an MCP server as an OAuth 2.1 resource server. Protected Resource Metadata,
 * correct 401/403 challenges with step-up scopes, strict JWT / introspection / DPoP verification, and the
 * verified claims handed to MCP handlers as the SDK's `authInfo`.
 *
 * Protecting an SDK v2 server (`@modelcontextprotocol/server`) on `node:http`:
 * ```ts
 * import http from 'node:http'
 * import { createMcpHandler } from '@modelcontextprotocol/server'
 * import { createResourceServer, jwtVerifier, nodeListener } from 'mcp-oauth-toolkit/server'
 *
 * const rs = createResourceServer({
 *   resource: 'https://mcp.example.com/mcp',
 *   authorizationServers: ['https://auth.example.com'],
 *   scopesSupported: ['mcp'],
 *   verifier: jwtVerifier({ issuer: 'https://auth.example.com' }),
 *   policy: { required: ['mcp'], tools: { delete_repo: ['repo:admin'] } },
 * })
 * const mcp = createMcpHandler(() => buildServer())
 * // `ctx` carries `authInfo` and the body the kit already parsed (`parsedBody`), so the SDK does not parse it again.
 * http.createServer(nodeListener((req) => rs.handle(req, (r, ctx) => mcp.fetch(r, ctx)))).listen(3000)
 * ```
 * Handlers read the claims from `ctx.http.authInfo` (`clientId`, `scopes`, `extra.subject`, `extra.issuer`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */

export { type AuthorizedExpressRequest, expressMiddleware } from './adapters/express.ts'
export { type AuthInfoEnv, honoMiddleware } from './adapters/hono.ts'
export {
  type NodeAdapterOptions,
  nodeListener,
  readNodeBody,
  toWebRequest,
  writeWebResponse,
} from './adapters/node-http.ts'
export {
  type ChallengeOptions,
  challengeHeaders,
  challengeResponse,
  unavailableResponse,
} from './challenge.ts'
export {
  type MetadataOptions,
  metadataRoute,
  protectedResourceMetadata,
  protectedResourceMetadataPaths,
  protectedResourceMetadataUrl,
} from './metadata.ts'
export {
  decodeHeaderValue,
  type Operation,
  readOperations,
  type ScopePolicy,
  type ScopePolicyOptions,
  scopePolicy,
} from './policy.ts'
export {
  type AuthInfo,
  type Authorized,
  createResourceServer,
  type NextHandler,
  type ResourceServer,
  type ResourceServerOptions,
} from './protect.ts'
export { type DpopChecker, type DpopOptions, dpopChecker } from './verify/dpop.ts'
export { type IntrospectionVerifierOptions, introspectionVerifier } from './verify/introspection.ts'
export { DEFAULT_JWT_ALGORITHMS, type JwtVerifierOptions, jwtVerifier } from './verify/jwt.ts'
export {
  InvalidTokenError,
  type TokenVerifier,
  type VerifiedToken,
  VerifierUnavailableError,
  type VerifyContext,
} from './verify/verifier.ts'
