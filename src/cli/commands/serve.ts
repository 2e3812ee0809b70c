/**
 * `mcp-oauth serve`: an authorization server (mcp-oauth-toolkit/authorization-server) and a demo MCP server
 * protected by the resource-server kit (mcp-oauth-toolkit/server), on one port.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { createMcpHandler } from '@modelcontextprotocol/server'
import {
  type AuthorizationServer,
  createAuthorizationServer,
  createStoredUsers,
  hashPassword,
  jsonLinesAudit,
  type LocalUser,
  parseRateLimits,
  type RateLimits,
  type SharedCounters,
  type UpstreamOptions,
} from '../../authorization-server/index.ts'
import { createResourceServer, introspectionVerifier, jwtVerifier, nodeListener } from '../../server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import * as gw from '../gateway/serve-gateway.ts'
import * as stdio from '../gateway/serve-stdio.ts'
import type { Upstream } from '../gateway/upstream.ts'
import type { CliIo } from '../main.ts'
import { UPSTREAM_FLAGS, UPSTREAM_FLAGS_HELP, upstreamBanner, upstreamOptions } from '../upstream-options.ts'
import { buildDemoServer, DEMO_RESOURCE, liveGrantVerifier, SCOPE_DESCRIPTIONS } from './serve-demo.ts'
import { openStore } from './serve-store.ts'

/** Re-exported for `mcp-oauth users` and `keys`, which open serve's store. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export { dataDir, openStore } from './serve-store.ts'

/** Usage of `mcp-oauth serve`. */
export const usage = `Usage: mcp-oauth serve [options]

Runs an OAuth authorization server and a demo MCP server (at /mcp) protected by it; with --proxy, a gateway
protecting an existing MCP server there instead (see docs/gateway.md).

Options:
  --port N              port to listen on (default 8976; 0 picks a free one)
  --host ADDR           address to bind (default 127.0.0.1)
  --issuer URL          public issuer URL (default http://<host>:<port>); the MCP server is <origin>/mcp
  --store SPEC          sqlite:PATH (default sqlite:<data dir>/authorization-server.db), postgres://…, or memory
  --user NAME:PASSWORD  a local account (repeatable); without it a development user is generated
  --token-format F      jwt (default, RFC 9068) or opaque (checked by introspection)
  --access-token-ttl S  access-token lifetime in seconds (default 600); refresh keeps sessions alive
  --allow-private-cimd  DEVELOPMENT ONLY: fetch client metadata documents from loopback/private addresses
  --cimd-ca FILE        extra CA certificate (PEM) trusted when fetching client metadata documents
${UPSTREAM_FLAGS_HELP}
  --rate-limit NAME=MAX/SECONDS  change one request limit (repeatable); NAME is one of registration, token,
                        par, revocation, introspection (per client_id and address), authorization (per
                        address), login (failed sign-ins per address), login-account (failed sign-ins per
                        account, from any address), cimd-fetch (metadata document fetches per address)
  --no-rate-limits      turn every limit off (testing only)
  --redis URL           keep limit counters and DPoP replay markers in Redis (redis://…) instead of the store,
                        so every instance pointing at it shares them (with postgres://… the store already does)
  --redis-prefix P      prefix of the Redis keys (default mcp-oauth:)
  --quiet               no audit log on stderr
  --json                print one JSON line {"mcp","issuer",…} on stdout once ready
${stdio.STDIO_USAGE}
${gw.GATEWAY_USAGE}

Environment:
  MCP_OAUTH_STORAGE_KEY   key sealing secrets in the store (required with postgres://; shared by all instances)
  MCP_OAUTH_UPSTREAM_CLIENT_SECRET  client secret at the --upstream provider (omit for a public client)
  MCP_OAUTH_DATA_DIR      data directory (default $XDG_DATA_HOME/mcp-oauth or ~/.local/share/mcp-oauth;
                          created 0700, the database and its key file 0600)

Demo tools: whoami, server_time (scope tools:read), create_note (notes:write), admin_report (admin, step-up).`

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** A running `serve`. */
export interface Serving {
  /** Where the socket listens (may differ from the public issuer behind a proxy). */
  listen: string
  mcp: string
  issuer: string
  server: Server
  authorizationServer: AuthorizationServer
  /** With --stdio or --proxy: the lines saying what the gateway protects and how. */
  gateway?: string[]
  close(): Promise<void>
}

/** Options of {@link startServe} (the parsed command line). */
export interface ServeOptions {
  port: number
  host: string
  issuer?: string
  store?: string
  users: LocalUser[]
  tokenFormat: 'jwt' | 'opaque'
  /** Access-token lifetime in seconds (default: the authorization server's). */
  accessTokenTtlSeconds?: number
  allowPrivateCimd: boolean
  cimdCa?: string
  audit?: (line: string) => void
  upstream?: UpstreamOptions
  /** Limits changed from their defaults, or false for none. */
  rateLimits?: Partial<RateLimits> | false
  /** Redis URL and key prefix for shared counters. */
  redis?: { url: string; prefix?: string }
  /** With --stdio: a gateway in front of that local server instead of the demo. */
  stdio?: stdio.StdioServeOptions
  /** With --proxy: a gateway in front of that MCP server instead of the demo. */
  gateway?: gw.GatewayServeOptions
  /** The gateway's log (the child's stderr lines); default stderr. */
  log?: (line: string) => void
}

/** Starts the authorization server and the demo MCP server on one port. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export async function startServe(options: ServeOptions): Promise<Serving> {
  const { storage, kind } = await openStore(options.store)
  let counters: SharedCounters | undefined
  if (options.redis) {
    const { createRedisCounters } = await import('../../authorization-server/counters-redis.ts')
    try {
      counters = await createRedisCounters(options.redis.url, {
        ...(options.redis.prefix ? { keyPrefix: options.redis.prefix } : {}),
      })
    } catch (error) {
      await storage.close()
      throw usageError(
        `cannot connect to Redis: ${(error as Error).message.slice(0, 200)}`,
        'check --redis redis://HOST:PORT (or drop --redis to share limits through the store)',
      )
    }
  }
  const server = createServer()
  // Requests wait for the handler instead of hanging; with a known port the socket even opens only then.
  let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const early: [IncomingMessage, ServerResponse][] = []
  server.on('request', (req, res) => (dispatch ? dispatch(req, res) : early.push([req, res])))
  const listen = async (onFailure: () => Promise<void>) => {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(options.port, options.host, resolve)
      })
    } catch (error) {
      await onFailure()
      throw usageError(
        `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`,
        'pick another --port',
      )
    }
  }
  // Only a port picked by the system, without --issuer, needs the socket before the issuer is known.
  const portFirst = options.port === 0 && options.issuer === undefined
  if (portFirst)
    await listen(async () => {
      await counters?.close()
      await storage.close()
    })
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const issuer = (
    options.issuer ?? `http://${host}:${portFirst ? (server.address() as AddressInfo).port : options.port}`
  ).replace(/\/$/, '')
  const mcp = `${new URL(issuer).origin}/mcp`
  const shape = gw.servedResource(options.gateway, options.stdio) ?? DEMO_RESOURCE
  const rsSecret = randomBytes(32).toString('base64url')
  const rsClientId = 'mcp-oauth-demo-resource-server'
  const audit = options.audit
  const as = await createAuthorizationServer({
    issuer,
    storage,
    users: await createStoredUsers(storage, options.users),
    resources: [
      {
        uri: mcp,
        scopes: shape.scopes,
        defaultScopes: shape.defaultScopes,
        accessTokenFormat: options.tokenFormat,
        ...(options.accessTokenTtlSeconds ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}),
      },
    ],
    clients: [
      {
        client_id: rsClientId,
        client_secret: rsSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    clientIdMetadataDocuments: {
      allowPrivateNetwork: options.allowPrivateCimd,
      ...(options.cimdCa ? { trustedCertificates: options.cimdCa } : {}),
    },
    ...(options.stdio || options.gateway ? {} : { scopeDescriptions: SCOPE_DESCRIPTIONS }),
    ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
    ...(counters ? { counters } : {}),
    ...(audit ? { audit: jsonLinesAudit({ write: audit }) } : {}),
    ...(options.upstream ? { upstream: options.upstream } : {}),
  })
  // Its own resource learns of sign-out and revocation within seconds: a short introspection cache for
  // opaque tokens, a grant check beside the signature for JWTs.
  const verifier =
    options.tokenFormat === 'opaque'
      ? introspectionVerifier({
          endpoint: `${issuer}/token/introspection`,
          issuer,
          clientId: rsClientId,
          clientSecret: rsSecret,
          cacheMaxAgeSeconds: 2,
        })
      : liveGrantVerifier(
          jwtVerifier({ issuer, keys: () => as.jwks as never, requireAtJwtType: true }),
          (jti) => as.accessTokenGrantAlive(jti),
        )
  const rs = createResourceServer({
    resource: mcp,
    authorizationServers: [issuer],
    scopesSupported: shape.scopes,
    resourceName: shape.resourceName,
    verifier,
    policy: shape.policy,
    ...(audit
      ? {
          onRefusal: (r) =>
            audit(
              `${JSON.stringify({ at: new Date().toISOString(), audit: true, type: 'mcp.refused', ...r })}\n`,
            ),
        }
      : {}),
  })
  let upstream: Upstream | undefined
  let banner: string[] | undefined
  let mcpListener: ReturnType<typeof nodeListener>
  if (options.stdio || options.gateway) {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
    const started = await (options.gateway
      ? gw.startGateway(options.gateway, { mcp, issuer, resourceServer: rs, log })
      : stdio.startStdioGateway(options.stdio!, { mcp, resourceServer: rs, log })
    ).catch(async (e) => {
      await as.close()
      await counters?.close()
      await storage.close()
      throw e
    })
    ;({ upstream, banner } = started)
    mcpListener = nodeListener(started.handler)
  } else {
    const notes: string[] = []
    const mcpHandler = createMcpHandler(() => buildDemoServer(notes))
    mcpListener = nodeListener((request) =>
      rs.handle(request, (r, { authInfo }) => mcpHandler.fetch(r, { authInfo })),
    )
  }
  const mcpPath = new URL(mcp).pathname
  dispatch = (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === mcpPath || path.startsWith('/.well-known/oauth-protected-resource')) mcpListener(req, res)
    else as.handler(req, res)
  }
  for (const [req, res] of early.splice(0)) dispatch(req, res)
  if (!portFirst)
    await listen(async () => {
      await upstream?.close()
      await as.close()
      await counters?.close()
      await storage.close()
    })
  void kind
  return {
    listen: `http://${host}:${(server.address() as AddressInfo).port}`,
    mcp,
    issuer,
    server,
    authorizationServer: as,
    ...(banner ? { gateway: banner } : {}),
    async close() {
      // Stop accepting, let in-flight requests finish, close keep-alive sockets as they fall idle; force late.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const idle = setInterval(() => server.closeIdleConnections(), 50)
      const force = setTimeout(() => server.closeAllConnections(), 10_000)
      await closed
      clearInterval(idle)
      clearTimeout(force)
      await upstream?.close()
      await as.close()
      await counters?.close()
      await storage.close()
    },
  }
}

/** Runs `mcp-oauth serve` until SIGINT/SIGTERM. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export async function run(args: string[], io: CliIo): Promise<number> {
  const { flags, command } = stdio.splitCommand(args)
  const { values } = parseArgs({
    args: flags,
    strict: true,
    options: {
      port: { type: 'string', default: '8976' },
      host: { type: 'string', default: '127.0.0.1' },
      issuer: { type: 'string' },
      store: { type: 'string' },
      user: { type: 'string', multiple: true },
      'token-format': { type: 'string', default: 'jwt' },
      'access-token-ttl': { type: 'string' },
      'allow-private-cimd': { type: 'boolean', default: false },
      'cimd-ca': { type: 'string' },
      ...UPSTREAM_FLAGS,
      'rate-limit': { type: 'string', multiple: true },
      'no-rate-limits': { type: 'boolean', default: false },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...stdio.STDIO_FLAGS,
      ...gw.GATEWAY_FLAGS,
    },
  })
  const { stdioOptions, gateway } = gw.parseServedFlags(values, command)
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`bad --port ${values.port}`, 'use 0..65535')
  const format = values['token-format']
  if (format !== 'jwt' && format !== 'opaque')
    throw usageError(`bad --token-format ${format}`, 'use jwt or opaque')
  const ttl = values['access-token-ttl'] === undefined ? undefined : Number(values['access-token-ttl'])
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400))
    throw usageError(`bad --access-token-ttl ${values['access-token-ttl']}`, 'use whole seconds, 1..86400')
  const upstream = upstreamOptions(values)
  const users: LocalUser[] = []
  let generated: { username: string; password: string } | undefined
  for (const spec of values.user ?? []) {
    const colon = spec.indexOf(':')
    if (colon < 1) throw usageError('--user takes NAME:PASSWORD', 'e.g. --user alice:"a long passphrase"')
    users.push({ username: spec.slice(0, colon), passwordHash: await hashPassword(spec.slice(colon + 1)) })
  }
  if (users.length === 0) {
    generated = { username: 'dev', password: randomBytes(12).toString('base64url') }
    users.push({ username: generated.username, passwordHash: await hashPassword(generated.password) })
  }
  const serving = await startServe({
    port,
    host: values.host,
    ...(values.issuer ? { issuer: values.issuer } : {}),
    ...(values.store ? { store: values.store } : {}),
    users,
    tokenFormat: format,
    ...(ttl ? { accessTokenTtlSeconds: ttl } : {}),
    allowPrivateCimd: values['allow-private-cimd'],
    ...(values['cimd-ca'] ? { cimdCa: readFileSync(values['cimd-ca'], 'utf8') } : {}),
    ...(values.quiet ? {} : { audit: (line: string) => io.stderr.write(line) }),
    ...(upstream ? { upstream } : {}),
    ...(stdioOptions ? { stdio: stdioOptions, log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
    ...(gateway ? { gateway, log: (line: string) => io.stderr.write(`mcp-oauth serve: ${line}\n`) } : {}),
    rateLimits: values['no-rate-limits'] ? false : parseRateLimits(values['rate-limit'] ?? []),
    ...(values.redis
      ? {
          redis: {
            url: values.redis,
            ...(values['redis-prefix'] ? { prefix: values['redis-prefix'] } : {}),
          },
        }
      : {}),
  })
  io.stderr.write(`mcp-oauth serve: listening on ${serving.listen}\n`)
  io.stderr.write(`mcp-oauth serve: authorization server ${serving.issuer}\n`)
  io.stderr.write(`mcp-oauth serve: MCP server ${serving.mcp}\n`)
  if (upstream) io.stderr.write(`mcp-oauth serve: ${upstreamBanner(upstream, serving.issuer)}\n`)
  for (const line of serving.gateway ?? []) io.stderr.write(`mcp-oauth serve: ${line}\n`)
  if (generated) {
    io.stderr.write(
      `mcp-oauth serve: development user "${generated.username}" with password "${generated.password}"\n`,
    )
  }
  if (values['allow-private-cimd']) {
    io.stderr.write(
      'mcp-oauth serve: WARNING --allow-private-cimd fetches client metadata from private addresses\n',
    )
  }
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ mcp: serving.mcp, issuer: serving.issuer, listen: serving.listen, pid: process.pid, users: users.map((u) => u.username) })}\n`,
    )
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  io.stderr.write('mcp-oauth serve: shutting down\n')
  await serving.close()
  return 0
}
