/**
 * Login and consent: the interactive steps oidc-provider delegates to us. Forms carry a CSRF token bound to
 * the interaction; consent names the client, its metadata-document or redirect host, and the scopes.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#user-flows
 */
import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type Provider from 'oidc-provider'
import type { ClientInstance, InteractionDetails } from 'oidc-provider'
import type { AuditSink } from './audit.ts'
import { consentPage, displayText, errorPage, loginPage, sendPage } from './html.ts'
import { requestAddress } from './http.ts'
import type { RateLimiter } from './rate-limit.ts'
import type { UpstreamAccount, UpstreamLogin } from './upstream.ts'
import type { UserDirectory } from './users.ts'

/** What the interaction routes need. */
export interface InteractionContext {
  provider: Provider
  users: UserDirectory
  /** Key for CSRF tokens (HMAC over the interaction uid). */
  csrfKey: KeyObject
  /** Issuer path prefix ('' at the root). */
  mountPath: string
  scopeDescriptions: Record<string, string>
  audit: AuditSink
  /** Optional upstream OpenID Connect login. */
  upstream?: UpstreamLogin
  /** Failed sign-ins allowed per address and per account (absent: unlimited). */
  loginLimits?: { address?: RateLimiter | undefined; account?: RateLimiter | undefined }
}

const FORM_LIMIT = 8 * 1024

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '')
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new Error('expected a form submission')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > FORM_LIMIT) throw new Error('form too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

function csrfFor(context: InteractionContext, uid: string): string {
  return createHmac('sha256', context.csrfKey).update(`csrf:${uid}`).digest('base64url')
}

function csrfValid(context: InteractionContext, uid: string, presented: string | null): boolean {
  const expected = Buffer.from(csrfFor(context, uid))
  const given = Buffer.from(presented ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * How consent names a client: a metadata-document client by its document's host (the name inside is its own
 * claim), a registered client by the name it gave itself, marked unverified; and where the code will be sent.
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
export function describeClient(
  client: ClientInstance,
  redirectUri: unknown,
): { name: string; documentHost?: string; redirectHost: string } {
  const name = displayText(client['clientName'] ?? '')
  const uri = URL.parse(String(redirectUri ?? client.redirectUris[0] ?? ''))
  const redirectHost = uri ? displayText(uri.host || uri.protocol) : 'an unknown address'
  if (client.clientIdMetadataDocument)
    return { name, documentHost: displayText(new URL(client.clientId).host), redirectHost }
  return { name, redirectHost }
}

/** The login page's short label for a client. */
function clientLabel(client: ClientInstance): string {
  if (client.clientIdMetadataDocument) return displayText(new URL(client.clientId).host)
  const name = displayText(client['clientName'] ?? '')
  return name ? `an application that calls itself "${name}"` : 'an unnamed application'
}

/** How consent names an account learned upstream: its name and verified address, as the provider gave them. */
function upstreamLabel(account: UpstreamAccount): string {
  const name = account.name ?? account.accountId
  return account.email && account.email !== name ? `${name} (${account.email})` : name
}

function requestedScopes(details: InteractionDetails): { scopes: string[]; resources: string[] } {
  const d = details.prompt.details as {
    missingOIDCScope?: string[]
    missingResourceScopes?: Record<string, string[]>
  }
  const scopes = new Set<string>(d.missingOIDCScope ?? [])
  const resources: string[] = []
  for (const [resource, list] of Object.entries(d.missingResourceScopes ?? {})) {
    resources.push(resource)
    for (const s of list) scopes.add(s)
  }
  return { scopes: [...scopes], resources }
}

/**
 * Routes `/interaction/:uid[/login|/confirm|/abort]`; returns false when the path is not an interaction route.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#interactions
 */
export async function handleInteraction(
  context: InteractionContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  const match =
    /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort|upstream|upstream-complete))?$/.exec(path)
  if (!match) return false
  const uid = match[1]!
  const action = match[2]
  const { provider } = context
  let details: InteractionDetails
  try {
    details = await provider.interactionDetails(req, res)
  } catch {
    sendPage(
      res,
      400,
      'Sign-in expired',
      errorPage('invalid_request', 'this sign-in has expired or was opened in another browser'),
    )
    return true
  }
  if (details.uid !== uid) {
    sendPage(
      res,
      400,
      'Sign-in mismatch',
      errorPage('invalid_request', 'this page does not belong to the current sign-in'),
    )
    return true
  }
  const client = await provider.Client.find(String(details.params['client_id']))
  if (!client) {
    sendPage(
      res,
      400,
      'Unknown client',
      errorPage('invalid_client', 'the application is no longer registered'),
    )
    return true
  }
  const clientName = clientLabel(client)
  const base = `${context.mountPath}/interaction/${uid}`
  const upstreamButton = context.upstream
    ? { upstream: { action: `${base}/upstream`, name: context.upstream.name, only: context.upstream.only } }
    : {}

  if (req.method === 'GET' && action === 'upstream-complete' && context.upstream) {
    const ticket = new URL(req.url ?? '/', 'http://localhost').searchParams.get('ticket') ?? ''
    const account = details.prompt.name === 'login' ? await context.upstream.redeem(uid, ticket) : undefined
    if (!account) {
      sendPage(
        res,
        400,
        'Sign-in failed',
        errorPage('access_denied', 'the identity provider sign-in could not be matched to this request'),
      )
      return true
    }
    context.audit({
      type: 'login.succeeded',
      client_id: client.clientId,
      sub: account.accountId,
      via: 'upstream',
    })
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.accountId } },
      { mergeWithLastSubmission: false },
    )
    return true
  }

  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') {
      sendPage(
        res,
        200,
        'Sign in',
        loginPage({ action: `${base}/login`, csrf: csrfFor(context, uid), clientName, ...upstreamButton }),
      )
      return true
    }
    const { scopes, resources } = requestedScopes(details)
    const described = describeClient(client, details.params['redirect_uri'])
    const account = details.session?.accountId ?? ''
    const local = await context.users.find(account)
    const remote = local ? undefined : await context.upstream?.find(account)
    sendPage(
      res,
      200,
      'Allow access',
      consentPage({
        action: `${base}/confirm`,
        abortAction: `${base}/abort`,
        csrf: csrfFor(context, uid),
        client: described,
        account: local?.displayName ?? (remote ? upstreamLabel(remote) : account),
        scopes: scopes.map((name) => ({ name, description: context.scopeDescriptions[name] })),
        resources,
      }),
    )
    return true
  }

  if (req.method !== 'POST' || action === undefined) {
    res.statusCode = 405
    res.setHeader('allow', action === undefined ? 'GET' : 'POST')
    res.end()
    return true
  }
  let form: URLSearchParams
  try {
    form = await readForm(req)
  } catch (error) {
    sendPage(res, 400, 'Bad request', errorPage('invalid_request', (error as Error).message))
    return true
  }
  if (!csrfValid(context, uid, form.get('csrf'))) {
    sendPage(
      res,
      403,
      'Forbidden',
      errorPage('invalid_request', 'the form is stale or was not sent by this page; go back and retry'),
    )
    return true
  }

  if (action === 'upstream') {
    if (details.prompt.name !== 'login' || !context.upstream) {
      sendPage(
        res,
        400,
        'Bad request',
        errorPage('invalid_request', 'upstream sign-in is not available at this step'),
      )
      return true
    }
    let target: URL
    try {
      target = await context.upstream.start(uid)
    } catch (error) {
      sendPage(
        res,
        502,
        'Identity provider unavailable',
        errorPage(
          'temporarily_unavailable',
          `the identity provider could not be reached: ${(error as Error).message.slice(0, 300)}`,
          (error as { hint?: string }).hint,
        ),
      )
      return true
    }
    res.statusCode = 303
    res.setHeader('location', target.href)
    res.end()
    return true
  }

  if (action === 'login') {
    if (details.prompt.name !== 'login' || context.upstream?.only) {
      sendPage(res, 400, 'Bad request', errorPage('invalid_request', 'sign-in is not expected at this step'))
      return true
    }
    const username = form.get('username') ?? ''
    const address = requestAddress(req)
    const account = username.toLowerCase().slice(0, 200)
    const limits = context.loginLimits ?? {}
    // A slot is taken before the (slow) password check, atomically in the shared counters: parallel guesses
    // each spend one, so no burst gets more than the budget through to verification. The address is charged
    // first so a blocked address cannot keep spending an account's budget. Once either is spent, even the right
    // password waits; a right password gives its slots back, so only failures count.
    const addressWait = (await limits.address?.take(address)) ?? 0
    const wait = addressWait || ((await limits.account?.take(account)) ?? 0)
    if (wait > 0) {
      context.audit({ type: 'rate_limited', endpoint: 'login', client_id: client.clientId })
      res.setHeader('retry-after', String(wait))
      sendPage(
        res,
        429,
        'Sign in',
        loginPage({
          action: `${base}/login`,
          csrf: csrfFor(context, uid),
          clientName,
          username,
          error: `Too many failed sign-ins; try again in ${wait} seconds.`,
          ...upstreamButton,
        }),
      )
      return true
    }
    const user = await context.users.verify(username, form.get('password') ?? '')
    if (!user) {
      context.audit({ type: 'login.failed', client_id: client.clientId, username: username.slice(0, 100) })
      sendPage(
        res,
        401,
        'Sign in',
        loginPage({
          action: `${base}/login`,
          csrf: csrfFor(context, uid),
          clientName,
          username,
          error: 'Wrong username or password.',
          ...upstreamButton,
        }),
      )
      return true
    }
    await limits.address?.release(address)
    await limits.account?.release(account)
    context.audit({ type: 'login.succeeded', client_id: client.clientId, sub: user.username })
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.username } },
      { mergeWithLastSubmission: false },
    )
    return true
  }

  if (action === 'abort') {
    context.audit({ type: 'consent.denied', client_id: client.clientId, sub: details.session?.accountId })
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user denied the request' },
      { mergeWithLastSubmission: false },
    )
    return true
  }

  if (details.prompt.name !== 'consent' || !details.session?.accountId) {
    sendPage(res, 400, 'Bad request', errorPage('invalid_request', 'consent is not expected at this step'))
    return true
  }
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId: details.session.accountId, clientId: client.clientId })
  const d = details.prompt.details as {
    missingOIDCScope?: string[]
    missingOIDCClaims?: string[]
    missingResourceScopes?: Record<string, string[]>
  }
  if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '))
  if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims)
  for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '))
  }
  const grantId = await grant.save()
  context.audit({
    type: 'consent.granted',
    client_id: client.clientId,
    sub: details.session.accountId,
    grant_id: grantId,
    scope: requestedScopes(details).scopes.join(' '),
  })
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  return true
}
