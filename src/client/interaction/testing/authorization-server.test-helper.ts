/**
 * Test helper: a plain oidc-provider on 127.0.0.1 with its own (development) login, consent and device-code pages,
 * a public native client with exact loopback redirect URIs, JWT access tokens for one resource, single-use rotating
 * refresh tokens, and counters of what the token endpoint saw (refresh-token reuse, invalid_grant).
 * Keys and cookie secrets are generated at run time.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors } from 'oidc-provider'

/** What the token endpoint saw. */
export interface TokenStats {
  codeGrants: number
  deviceGrants: number
  refreshGrants: number
  /** A refresh token presented a second time. */
  refreshReuse: number
  invalidGrant: number
}

export interface TestAuthorizationServer {
  issuer: string
  clientId: string
  provider: Provider
  stats: TokenStats
  close(): Promise<void>
}

/** Start the authorization server. `redirectUris` are registered exactly (fixed loopback ports). */
export async function startTestAuthorizationServer(options: {
  redirectUris: string[]
  resource: string
  accessTokenTtl?: number
  scopes?: string[]
}): Promise<TestAuthorizationServer> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const stats: TokenStats = {
    codeGrants: 0,
    deviceGrants: 0,
    refreshGrants: 0,
    refreshReuse: 0,
    invalidGrant: 0,
  }
  const seenRefresh = new Set<string>()
  let provider: Provider | undefined
  const server = http.createServer((req, res) => provider!.callback()(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clientId = 'mcp-oauth-test-client'
  const scopes = options.scopes ?? ['mcp:tools']
  provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [
      {
        client_id: clientId,
        client_name: 'mcp-oauth test client',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        id_token_signed_response_alg: 'ES256',
        redirect_uris: options.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      },
    ],
    scopes: ['openid', 'offline_access'],
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== options.resource) throw new errors.InvalidTarget()
          return {
            scope: scopes.join(' '),
            audience: indicator,
            accessTokenTTL: options.accessTokenTtl ?? 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
    pkce: { required: () => true },
    // Every grant gets a refresh token, and every refresh rotates it (single use).
    issueRefreshToken: async () => true,
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: options.accessTokenTtl ?? 600,
      AuthorizationCode: 60,
      DeviceCode: 300,
      Interaction: 300,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
  })
  provider.use(
    async (
      ctx: { path: string; method: string; status: number; body: unknown },
      next: () => Promise<void>,
    ) => {
      if (ctx.path === '/token' && ctx.method === 'POST') {
        await next()
        const params = (ctx as unknown as { oidc?: { params?: Record<string, unknown> } }).oidc?.params
        const grant = params?.['grant_type']
        if (grant === 'authorization_code') stats.codeGrants++
        else if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
          if (ctx.status === 200) stats.deviceGrants++
        } else if (grant === 'refresh_token') {
          stats.refreshGrants++
          const rt = String(params?.['refresh_token'])
          if (seenRefresh.has(rt)) stats.refreshReuse++
          seenRefresh.add(rt)
        }
        const body = ctx.body as { error?: string } | undefined
        if (body?.error === 'invalid_grant') stats.invalidGrant++
        return
      }
      await next()
    },
  )
  return {
    issuer,
    clientId,
    provider,
    stats,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}

/**
 * A loopback port free a moment ago, for a fixed redirect URI (or a tool that insists on a fixed port). Taken
 * below the kernel's ephemeral range: a port-0 pick lies inside it, where any outgoing connection or port-0
 * listener of a test file running alongside may take it before the test binds it again (seen in CI as
 * `callback_port_in_use`).
 */
export async function freePort(): Promise<number> {
  const high = Math.max(ephemeralLow(), 20_000)
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (high - 10_000))
    if (await canListen(port)) return port
  }
  throw new Error(`no free loopback port between 10000 and ${high} after 50 attempts`)
}

/** The first port of the kernel's ephemeral range (Linux's setting; 32768 elsewhere, below macOS's and Windows'). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 1024 ? low : 32_768
  } catch {
    return 32_768
  }
}

function canListen(port: number): Promise<boolean> {
  const s = http.createServer()
  return new Promise((resolve) => {
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}
