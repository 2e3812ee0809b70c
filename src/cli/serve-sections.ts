/**
 * The sections of `serve`'s configuration as types (resources, clients, users, upstream) and the checks a JSON
 * Schema cannot express, applied once the file and the flags are merged and validated.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { RateLimits } from '../authorization-server/rate-limit.ts'
import { redirectUriProblem } from '../authorization-server/registration.ts'
import type { UpstreamOptions } from '../authorization-server/upstream.ts'
import { InvalidArgumentError } from '../shared/errors.ts'
import { redactInput, redactUrl } from '../shared/redact.ts'
import { canonicalResource, isLoopbackUrl } from '../shared/resource.ts'
import type { RestartPolicy } from './gateway/stdio-child.ts'
import { type ConfigObject, PROXY_EXAMPLE, STDIO_EXAMPLE } from './serve-flags.ts'
import { upstreamOptionsFromSection } from './upstream-options.ts'

/** Client id of the demo resource server's own introspection client (reserved). @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1 */
export const DEMO_RESOURCE_SERVER_CLIENT_ID = 'mcp-oauth-demo-resource-server'

/** A resource server `serve` issues tokens for. @see https://www.rfc-editor.org/rfc/rfc8707 */
export interface ServeResource {
  uri: string
  scopes: string[]
  defaultScopes?: string[]
  accessTokenTtl?: number
  tokenFormat?: 'jwt' | 'opaque'
  toolScopes: Record<string, string[]>
}

/** A pre-registered client (RFC 7591 field names). @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export interface ServeClient {
  client_id: string
  client_secret?: string
  client_name?: string
  redirect_uris: string[]
  grant_types: string[]
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post'
  scope?: string
}

/** The settings of `serve`, typed, with defaults. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface ServeSettings {
  port: number
  host: string
  issuer?: string
  store?: string
  tokenFormat: 'jwt' | 'opaque'
  accessTokenTtl?: number
  allowPrivateCimd: boolean
  /** Path of the PEM file (relative paths from the file are resolved against its folder). */
  cimdCa?: string
  redis?: string
  redisPrefix?: string
  quiet: boolean
  json: boolean
  /** Non-empty: standalone authorization server for these resources, no demo /mcp. */
  resources: ServeResource[]
  /** Scopes per tool on serve's own /mcp (demo or gateway). */
  toolScopes: Record<string, string[]>
  /** With a gateway: the scopes every request to /mcp needs (default `mcp`). */
  scopes?: string[]
  /** An MCP server reached over HTTP, protected at /mcp instead of the demo. */
  proxy?: { url: string; transport: 'auto' | 'streamable-http' | 'sse' }
  /** A local stdio MCP server protected at /mcp instead of the demo. */
  stdio?: { command: string; args: string[]; env?: Record<string, string>; restart: RestartPolicy }
  users: { username: string; password?: string; passwordHash?: string }[]
  clients: ServeClient[]
  /** The upstream identity provider, checked as the `--upstream` flags are. */
  upstream?: UpstreamOptions
  rateLimits: Partial<RateLimits> | false
}

function configError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_config', message, { hint })
}

/**
 * The typed settings from a schema-valid, secret-resolved config object, with the rules a schema cannot say
 * (canonical resource URIs, unique ids, secrets that agree with the auth method, redirect URI policy, known scopes).
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function settingsFrom(
  c: ConfigObject,
  fileName: string,
  env: Record<string, string | undefined> = process.env,
): ServeSettings {
  const toolScopes = (c['toolScopes'] ?? {}) as Record<string, string[]>
  const resources = ((c['resources'] ?? []) as ConfigObject[]).map((r, i) => checkedResource(r, i, fileName))
  const seen = new Set<string>()
  for (const r of resources) {
    if (seen.has(r.uri))
      throw configError(
        `the resource ${r.uri} is listed twice`,
        'list each resource once, with all its scopes',
      )
    seen.add(r.uri)
  }
  const knownScopes = new Set([
    'openid',
    'offline_access',
    ...resources.flatMap((r) => r.scopes),
    ...Object.values(toolScopes).flat(),
  ])
  const clients = ((c['clients'] ?? []) as ConfigObject[]).map((client, i) =>
    checkedClient(client, i, fileName, resources.length ? knownScopes : undefined),
  )
  const ids = new Set<string>()
  for (const client of clients) {
    if (ids.has(client.client_id) || client.client_id === DEMO_RESOURCE_SERVER_CLIENT_ID)
      throw configError(
        `${fileName}: the client_id ${client.client_id} is ${ids.has(client.client_id) ? 'listed twice' : 'reserved'}`,
        'give each pre-registered client its own client_id',
      )
    ids.add(client.client_id)
  }
  const users = ((c['users'] ?? []) as ConfigObject[]).map((u, i) => {
    if ((u['password'] === undefined) === (u['passwordHash'] === undefined))
      throw configError(
        `${fileName}: $.users[${i}] needs exactly one of "password" and "passwordHash"`,
        'write {"username": "alice", "password": {"env": "ALICE_PASSWORD"}}',
      )
    return u as ServeSettings['users'][number]
  })
  const section = c['upstream'] as ConfigObject | undefined
  if (typeof c['issuer'] === 'string' && !/^https?:$/.test(URL.parse(c['issuer'])?.protocol ?? ''))
    throw configError(
      `issuer ${c['issuer'].slice(0, 80)} is not an http(s) URL`,
      'pass e.g. https://auth.example.com',
    )
  for (const key of ['issuer', 'baseUrl', 'apiBaseUrl']) {
    const url = section?.[key]
    if (typeof url === 'string' && !/^https?:$/.test(URL.parse(url)?.protocol ?? ''))
      throw configError(
        `upstream.${key} ${url.slice(0, 80)} is not an http(s) URL`,
        'pass e.g. https://login.example.com',
      )
  }
  const upstream = section ? upstreamOptionsFromSection(section, env) : undefined
  const stdio = c['stdio'] as ServeSettings['stdio'] | undefined
  const scopes = c['scopes'] as string[] | undefined
  const proxy = c['proxy'] as { url: string; transport?: 'auto' | 'streamable-http' | 'sse' } | undefined
  if (proxy) checkProxyUrl(proxy.url)
  if (stdio && proxy)
    throw configError('--stdio and --proxy exclude each other', `${PROXY_EXAMPLE}, or ${STDIO_EXAMPLE}`)
  if ((stdio || proxy) && resources.length)
    throw configError(
      `${stdio ? 'stdio' : 'proxy'} protects serve's own /mcp; resources run the authorization server alone`,
      `use one: drop --resource, or drop --${stdio ? 'stdio' : 'proxy'}`,
    )
  if (scopes && !stdio && !proxy)
    throw configError(
      'scopes (--scopes without --resource) are the scopes of a gateway at /mcp',
      `add --proxy URL (${PROXY_EXAMPLE}) or --stdio -- CMD, or write --resource URI --scopes "a b"`,
    )
  if (scopes?.length === 0) throw configError('scopes is empty', 'e.g. --scopes mcp')
  return {
    port: (c['port'] as number | undefined) ?? 8976,
    host: (c['host'] as string | undefined) ?? '127.0.0.1',
    ...pick(c, ['issuer', 'store', 'accessTokenTtl', 'cimdCa', 'redis', 'redisPrefix']),
    tokenFormat: (c['tokenFormat'] as 'jwt' | 'opaque' | undefined) ?? 'jwt',
    allowPrivateCimd: c['allowPrivateCimd'] === true,
    quiet: c['quiet'] === true,
    json: c['json'] === true,
    resources,
    toolScopes,
    ...(scopes ? { scopes } : {}),
    ...(proxy ? { proxy: { url: new URL(proxy.url).href, transport: proxy.transport ?? 'auto' } } : {}),
    ...(stdio
      ? {
          stdio: {
            command: stdio.command,
            args: stdio.args ?? [],
            ...(stdio.env ? { env: stdio.env } : {}),
            restart: stdio.restart ?? 'on-failure',
          },
        }
      : {}),
    users,
    clients,
    ...(upstream ? { upstream } : {}),
    rateLimits: (c['rateLimits'] ?? {}) as ServeSettings['rateLimits'],
  }
}

/** The proxy's URL: http(s), without credentials (the upstream should trust the network only the gateway reaches). */
function checkProxyUrl(text: string): void {
  const url = URL.parse(text)
  if (!url)
    throw new InvalidArgumentError('invalid_argument', `--proxy "${redactInput(text)}" is not a URL`, {
      hint: PROXY_EXAMPLE,
    })
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('invalid_argument', `--proxy ${redactUrl(url)} is not http(s)`, {
      hint: PROXY_EXAMPLE,
    })
  if (url.username || url.password)
    throw new InvalidArgumentError('invalid_argument', '--proxy must not carry credentials in the URL', {
      hint: `drop them (the upstream should trust the network only the gateway reaches): ${PROXY_EXAMPLE}`,
    })
}

function pick(c: ConfigObject, keys: string[]): Record<string, never> {
  return Object.fromEntries(keys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Record<
    string,
    never
  >
}

function checkedResource(r: ConfigObject, i: number, fileName: string): ServeResource {
  const at = `$.resources[${i}]`
  let uri: string
  try {
    uri = canonicalResource(String(r['uri']))
  } catch {
    throw configError(
      `${fileName}: ${at}.uri is not an http(s) URL`,
      'pass the resource server URL, e.g. https://mcp.example.com/mcp',
    )
  }
  if (uri.startsWith('http:') && !isLoopbackUrl(uri))
    throw configError(
      `the resource ${uri} uses http on a non-loopback host`,
      'use its https:// URL (http only on loopback)',
    )
  const toolScopes = (r['toolScopes'] ?? {}) as Record<string, string[]>
  const scopes = [
    ...new Set([...((r['scopes'] as string[] | undefined) ?? ['mcp']), ...Object.values(toolScopes).flat()]),
  ]
  const defaultScopes = r['defaultScopes'] as string[] | undefined
  const unknown = defaultScopes?.find((s) => !scopes.includes(s))
  if (unknown)
    throw configError(
      `${fileName}: ${at}.defaultScopes names "${unknown}", not one of its scopes`,
      'list it in "scopes" too',
    )
  return {
    uri,
    scopes,
    ...(defaultScopes ? { defaultScopes } : {}),
    ...pick(r, ['accessTokenTtl', 'tokenFormat']),
    toolScopes,
  }
}

function checkedClient(
  c: ConfigObject,
  i: number,
  fileName: string,
  knownScopes: Set<string> | undefined,
): ServeClient {
  const at = `${fileName}: $.clients[${i}]`
  const secret = c['client_secret'] as string | undefined
  const method =
    (c['token_endpoint_auth_method'] as ServeClient['token_endpoint_auth_method'] | undefined) ??
    (secret ? 'client_secret_basic' : 'none')
  if (method === 'none' && secret)
    throw configError(
      `${at} has a client_secret but token_endpoint_auth_method "none"`,
      'drop the secret (public client) or use client_secret_basic',
    )
  if (method !== 'none' && !secret)
    throw configError(
      `${at} uses ${method} without a client_secret`,
      'add "client_secret": {"env": "NAME"}, or use "none" for a public client',
    )
  const grantTypes = (c['grant_types'] as string[] | undefined) ?? ['authorization_code', 'refresh_token']
  const redirectUris = (c['redirect_uris'] as string[] | undefined) ?? []
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    throw configError(
      `${at} needs redirect_uris for the authorization code grant`,
      'add "redirect_uris": ["https://host.example/callback"]',
    )
  for (const [j, uri] of redirectUris.entries()) {
    const problem = redirectUriProblem(uri)
    if (problem)
      throw configError(
        `${at}.redirect_uris[${j}] ${problem}`,
        'use https, or http on loopback, without a fragment',
      )
  }
  const scope = c['scope'] as string | undefined
  const unknown = knownScopes && scope?.split(' ').find((s) => s && !knownScopes.has(s))
  if (unknown)
    throw configError(
      `${at}.scope names "${unknown}", which no resource has`,
      'add it to a resource\'s "scopes" or drop it',
    )
  return {
    client_id: String(c['client_id']),
    ...(secret ? { client_secret: secret } : {}),
    ...(typeof c['client_name'] === 'string' ? { client_name: c['client_name'] } : {}),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    token_endpoint_auth_method: method,
    ...(scope ? { scope } : {}),
  }
}
