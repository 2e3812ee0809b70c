/**
 * Test helper: a plain oidc-provider issuing JWT access tokens through resource indicators, with real
 * interaction endpoints that auto-approve (login as `user-1`, consent to what was asked), and a headless
 * user agent that follows the authorization redirects with fetch and a cookie jar until the client's
 * redirect URI. Keys are generated at run time.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors } from 'oidc-provider'
import { type Listening, listen } from './mcp.test-helper.ts'

export interface TestAuthorizationServer {
  issuer: string
  /** Credentials of the resource server's own client, for introspection. */
  introspector: { clientId: string; clientSecret: string }
  provider: Provider
  close(): Promise<void>
  /** How many interactions (login or consent screens) were auto-approved. */
  interactions: { login: number; consent: number }
}

/** Start oidc-provider on 127.0.0.1 with JWT access tokens (`alg`) for `resource` and the given scopes. */
export async function startAuthorizationServer(options: {
  resource: () => string
  /** Every scope the resource accepts. */
  scopes: string[]
  /** The scopes a client may register with (DCR validates against these); the rest are step-up scopes. */
  registrableScopes?: string[]
  /** Enable DPoP (RFC 9449): clients that send proofs get DPoP-bound access tokens. */
  dpop?: boolean
  /** `opaque` issues reference tokens, checked through introspection by the confidential client `introspector`. */
  tokenFormat?: 'jwt' | 'opaque'
  alg?: 'ES256' | 'RS256'
}): Promise<TestAuthorizationServer> {
  const alg = options.alg ?? 'ES256'
  const signing = await generateKeyPair(alg, { extractable: true })
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const keys = [
    { ...(await exportJWK(rsa.privateKey)), kid: 'rs', alg: 'RS256', use: 'sig' },
    ...(alg === 'ES256'
      ? [{ ...(await exportJWK(signing.privateKey)), kid: 'es', alg: 'ES256', use: 'sig' }]
      : []),
  ]
  const interactions = { login: 0, consent: 0 }
  const introspector = {
    clientId: 'mcp-resource-server',
    clientSecret: randomBytes(24).toString('base64url'),
  }
  let provider: Provider | undefined
  let onInteraction: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async () => {}
  const server: Listening = await listen((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      onInteraction(req, res).catch((e) => {
        res.statusCode = 500
        res.end(String(e))
      })
      return
    }
    provider!.callback()(req, res)
  })
  const issuer = server.url
  provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      {
        client_id: introspector.clientId,
        client_secret: introspector.clientSecret,
        grant_types: [],
        redirect_uris: [],
        response_types: [],
      },
    ],
    // The SDK registers (DCR) only the scope of its first sign-in, and oidc-provider holds a client to its
    // registered `scope` for every scope listed here. Step-up scopes are therefore resource-only scopes (granted
    // through getResourceServerInfo), not listed here, or step-up would be refused with invalid_scope.
    scopes: ['openid', 'offline_access', ...(options.registrableScopes ?? [])],
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: options.dpop ?? false },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource(),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== options.resource()) throw new errors.InvalidTarget()
          return {
            scope: options.scopes.join(' '),
            audience: indicator,
            accessTokenTTL: 600,
            ...(options.tokenFormat === 'opaque'
              ? { accessTokenFormat: 'opaque' }
              : { accessTokenFormat: 'jwt', jwt: { sign: { alg } } }),
          }
        },
      },
    },
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 300,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
  })
  const p = provider
  onInteraction = async (req, res) => {
    const details = await p.interactionDetails(req, res)
    const { prompt, params, session } = details
    if (prompt.name === 'login') {
      interactions.login++
      await p.interactionFinished(
        req,
        res,
        { login: { accountId: 'user-1' } },
        { mergeWithLastSubmission: false },
      )
      return
    }
    interactions.consent++
    const accountId = session?.accountId ?? 'user-1'
    const grant = details.grantId
      ? ((await p.Grant.find(details.grantId)) ??
        new p.Grant({ accountId, clientId: String(params['client_id']) }))
      : new p.Grant({ accountId, clientId: String(params['client_id']) })
    const missingOidc = prompt.details['missingOIDCScope'] as string[] | undefined
    if (missingOidc) grant.addOIDCScope(missingOidc.join(' '))
    const missingResource = prompt.details['missingResourceScopes'] as Record<string, string[]> | undefined
    for (const [indicator, scopes] of Object.entries(missingResource ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '))
    const grantId = await grant.save()
    await p.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }
  return { issuer, introspector, provider: p, interactions, close: () => server.close() }
}

/**
 * A headless user agent: follows the authorization URL's redirects (keeping cookies) until it reaches a URL
 * starting with `redirectUri`, and returns that callback URL.
 */
export function headlessAgent(): { authorize(url: URL | string, redirectUri: string): Promise<URL> } {
  const jar = new Map<string, string>()
  return {
    async authorize(start, redirectUri) {
      let url = new URL(String(start))
      for (let hop = 0; hop < 20; hop++) {
        if (url.href.startsWith(redirectUri)) return url
        const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
        const r = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} })
        for (const c of r.headers.getSetCookie()) {
          const [pair] = c.split(';')
          const eq = pair!.indexOf('=')
          const name = pair!.slice(0, eq).trim()
          const value = pair!.slice(eq + 1).trim()
          if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name)
          else jar.set(name, value)
        }
        const location = r.headers.get('location')
        await r.body?.cancel()
        if (!location)
          throw new Error(`authorization stopped at HTTP ${r.status} without a redirect (${url.pathname})`)
        url = new URL(location, url)
      }
      throw new Error('too many redirects during authorization')
    },
  }
}
