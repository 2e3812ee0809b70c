/**
 * `mcp-oauth serve`: an authorization server (mcp-oauth-toolkit/authorization-server) and a demo MCP server
 * protected by the resource-server kit (mcp-oauth-toolkit/server), on one port.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AuthorizationServer,
  createAuthorizationServer,
  createStoredUsers,
  hashPassword,
  isNativeRedirectUri,
  jsonLinesAudit,
  type LocalUser,
  type RateLimits,
  type ResourceOptions,
  type SharedCounters,
  type UpstreamOptions,
} from '../../authorization-server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { canonicalResource } from '../../shared/resource.ts'
import { type GatewayServeOptions, gatewayResource, startGateway } from '../gateway/serve-gateway.ts'
import type { Upstream } from '../gateway/upstream.ts'
import type { CliIo } from '../main.ts'
import { DEMO_RESOURCE_SERVER_CLIENT_ID, parseServeConfig } from '../serve-config.ts'
import { flagHelp } from '../serve-flags.ts'
import { startBanner } from './serve-banner.ts'
import { demoHandler, demoResource, SCOPE_DESCRIPTIONS } from './serve-demo.ts'
import { mcpDispatch, ownResourceServer } from './serve-mcp.ts'
import { openStore } from './serve-store.ts'

/** Re-exported for `mcp-oauth users` and `keys`, which open serve's store. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export { dataDir, openStore } from './serve-store.ts'

/** Usage of `mcp-oauth serve`. */
export const usage = `Usage: mcp-oauth serve [options]
       mcp-oauth serve --resource URI [--scopes "A B"] [--resource URI2 …] [options]
       mcp-oauth serve --proxy URL [--scopes "A B"] [--tool-scope NAME=SCOPES …] [options]
       mcp-oauth serve --stdio [--scopes "A B"] [--tool-scope NAME=SCOPES …] [options] -- CMD [ARGS…]
       mcp-oauth serve --config mcp-oauth.json [options]

Runs an OAuth authorization server and a demo MCP server (at /mcp) protected by it. With --resource, runs only
the authorization server, for resource servers of your own (any language) that check its RFC 9068 JWTs. With
--proxy or --stdio, a gateway protects an existing MCP server at /mcp instead of the demo (docs/gateway.md).

Options:
${flagHelp()}

Environment:
  MCP_OAUTH_STORAGE_KEY   key sealing secrets in the store (required with postgres://; shared by all instances)
  MCP_OAUTH_UPSTREAM_CLIENT_SECRET  client secret at the --upstream provider (omit for a public client)
  MCP_OAUTH_DATA_DIR      data directory (default $XDG_DATA_HOME/mcp-oauth or ~/.local/share/mcp-oauth;
                          created 0700, the database and its key file 0600)

Demo tools: whoami, server_time (scope tools:read), create_note (notes:write), admin_report (admin, step-up).
The config file (schema/mcp-oauth.schema.json) holds every flag, plus pre-registered clients and the stdio
server's environment.`

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** A running `serve`. */
export interface Serving {
  /** Where the socket listens (may differ from the public issuer behind a proxy). */
  listen: string
  /** The demo MCP server; absent when serving standalone (`resources`). */
  mcp?: string
  issuer: string
  /** The resources tokens are issued for (the demo's /mcp, or those given with --resource). */
  resources: string[]
  server: Server
  authorizationServer: AuthorizationServer
  /** With --proxy or --stdio: the lines saying what the gateway protects and how. */
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
  /** Standalone: issue tokens for these resource servers and run no demo /mcp. */
  resources?: readonly ResourceOptions[]
  /** Pre-registered clients (RFC 7591 metadata; a `client_secret` makes one confidential). */
  clients?: readonly Record<string, unknown>[]
  /** Scopes per tool on the demo /mcp, beside the demo's own. */
  toolScopes?: Record<string, string[]>
  /** With --proxy or --stdio: a gateway in front of that MCP server instead of the demo. */
  gateway?: GatewayServeOptions
  /** The gateway's log (upstream failures, a stdio child's stderr lines); default stderr. */
  log?: (line: string) => void
}

/** Starts the authorization server and, unless `resources` are given, the demo MCP server on one port. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export async function startServe(options: ServeOptions): Promise<Serving> {
  const { storage } = await openStore(options.store)
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
  // Clients count the advertised keep-alive (5 s) from when they finished reading an answer, the server from when
  // it finished writing it; after a large answer read on a loaded machine those are seconds apart, and a request a
  // client sends on its kept-alive connection well inside 5 s met the server closing it (ECONNRESET, not resent).
  // The advertised timeout stays; the socket outlives it by this much (Node >= 24.6; older ones ignore the option).
  // @see https://nodejs.org/api/http.html#serverkeepalivetimeoutbuffer
  const server = createServer({ keepAliveTimeoutBuffer: 30_000 })
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
  const standalone = (options.resources?.length ?? 0) > 0
  const mcp = `${new URL(issuer).origin}/mcp`
  const shape = options.gateway ? gatewayResource(options.gateway) : demoResource(options.toolScopes ?? {})
  const rsSecret = randomBytes(32).toString('base64url')
  const audit = options.audit
  const as = await createAuthorizationServer({
    issuer,
    storage,
    users: await createStoredUsers(storage, options.users),
    resources: standalone
      ? options.resources!
      : [
          {
            uri: mcp,
            scopes: shape.scopes,
            defaultScopes: shape.defaultScopes,
            accessTokenFormat: options.tokenFormat,
            ...(options.accessTokenTtlSeconds
              ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds }
              : {}),
          },
        ],
    clients: [
      ...(standalone
        ? []
        : [
            {
              client_id: DEMO_RESOURCE_SERVER_CLIENT_ID,
              client_secret: rsSecret,
              grant_types: [],
              response_types: [],
              redirect_uris: [],
            },
          ]),
      ...(options.clients ?? []),
    ],
    clientIdMetadataDocuments: {
      allowPrivateNetwork: options.allowPrivateCimd,
      ...(options.cimdCa ? { trustedCertificates: options.cimdCa } : {}),
    },
    ...(options.gateway ? {} : { scopeDescriptions: SCOPE_DESCRIPTIONS }),
    ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
    ...(counters ? { counters } : {}),
    ...(audit ? { audit: jsonLinesAudit({ write: audit }) } : {}),
    ...(options.upstream ? { upstream: options.upstream } : {}),
  })
  let upstream: Upstream | undefined
  let banner: string[] | undefined
  if (standalone) dispatch = as.handler
  else {
    const rs = ownResourceServer({
      as,
      issuer,
      mcp,
      rsSecret,
      tokenFormat: options.tokenFormat,
      ...shape,
      ...(audit ? { audit } : {}),
    })
    let handler = demoHandler(rs)
    if (options.gateway) {
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
      const started = await startGateway(options.gateway, { mcp, issuer, resourceServer: rs, log }).catch(
        async (e) => {
          await as.close()
          await counters?.close()
          await storage.close()
          throw e
        },
      )
      ;({ upstream, banner, handler } = started)
    }
    dispatch = mcpDispatch(as, mcp, handler)
  }
  for (const [req, res] of early.splice(0)) dispatch(req, res)
  if (!portFirst)
    await listen(async () => {
      await upstream?.close()
      await as.close()
      await counters?.close()
      await storage.close()
    })
  return {
    listen: `http://${host}:${(server.address() as AddressInfo).port}`,
    ...(standalone ? {} : { mcp }),
    issuer,
    resources: standalone ? options.resources!.map((r) => canonicalResource(r.uri)) : [mcp],
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
  const config = parseServeConfig(args)
  for (const warning of config.warnings) io.stderr.write(`mcp-oauth serve: WARNING ${warning}\n`)
  if (config.printConfig) {
    io.stdout.write(`${JSON.stringify(config.redacted, null, 2)}\n`)
    return 0
  }
  const upstream = config.upstream
  const users: LocalUser[] = []
  let generated: { username: string; password: string } | undefined
  for (const user of config.users) {
    users.push({
      username: user.username,
      passwordHash: user.passwordHash ?? (await hashPassword(user.password!)),
    })
  }
  if (users.length === 0) {
    generated = { username: 'dev', password: randomBytes(12).toString('base64url') }
    users.push({ username: generated.username, passwordHash: await hashPassword(generated.password) })
  }
  let cimdCa: string | undefined
  if (config.cimdCa) {
    try {
      cimdCa = readFileSync(config.cimdCa, 'utf8')
    } catch {
      throw usageError(`cannot read --cimd-ca ${config.cimdCa}`, 'pass a readable PEM file')
    }
  }
  const serving = await startServe({
    port: config.port,
    host: config.host,
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.store ? { store: config.store } : {}),
    users,
    tokenFormat: config.tokenFormat,
    ...(config.accessTokenTtl ? { accessTokenTtlSeconds: config.accessTokenTtl } : {}),
    allowPrivateCimd: config.allowPrivateCimd,
    ...(cimdCa ? { cimdCa } : {}),
    ...(config.quiet ? {} : { audit: (line: string) => io.stderr.write(line) }),
    ...(upstream ? { upstream } : {}),
    ...(config.proxy || config.stdio
      ? {
          gateway: {
            target: (config.proxy ?? config.stdio)!,
            scopes: config.scopes ?? ['mcp'],
            toolScopes: config.toolScopes,
          },
          log: (line: string) => io.stderr.write(`${line}\n`),
        }
      : {}),
    rateLimits: config.rateLimits,
    ...(config.redis
      ? { redis: { url: config.redis, ...(config.redisPrefix ? { prefix: config.redisPrefix } : {}) } }
      : {}),
    ...(config.resources.length
      ? {
          resources: config.resources.map((r) => ({
            uri: r.uri,
            scopes: r.scopes,
            ...(r.defaultScopes ? { defaultScopes: r.defaultScopes } : {}),
            accessTokenFormat: r.tokenFormat ?? config.tokenFormat,
            ...((r.accessTokenTtl ?? config.accessTokenTtl)
              ? { accessTokenTtlSeconds: r.accessTokenTtl ?? config.accessTokenTtl }
              : {}),
          })),
        }
      : {}),
    clients: config.clients.map((c) => ({
      ...c,
      response_types: c.grant_types.includes('authorization_code') ? ['code'] : [],
      // As registration does: loopback and private-use redirects make a native app (RFC 8252 §7.3 ports).
      application_type:
        c.redirect_uris.length > 0 && c.redirect_uris.every(isNativeRedirectUri) ? 'native' : 'web',
    })),
    toolScopes: config.toolScopes,
  })
  for (const line of startBanner(config, serving, generated)) io.stderr.write(`mcp-oauth serve: ${line}\n`)
  if (config.json) {
    io.stdout.write(
      `${JSON.stringify({ ...(serving.mcp ? { mcp: serving.mcp } : {}), issuer: serving.issuer, resources: serving.resources, listen: serving.listen, pid: process.pid, users: users.map((u) => u.username) })}\n`,
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
