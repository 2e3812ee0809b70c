/**
 * Which grant gets the tokens, and running it: authorization code (browser, headless agent or device code),
 * client credentials, workload-identity jwt-bearer, enterprise-managed (ID-JAG then jwt-bearer).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */
import { assertPkceS256 } from '../shared/authorization-server.ts'
import { InteractionRequiredError, InvalidArgumentError, OAuthResponseError, SPEC } from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'
import { isLoopbackUrl } from '../shared/resource.ts'
import { formatScope, parseScope, unionScope } from '../shared/scope.ts'
import { buildAuthorizationRequest, selectScope, validateCallback } from './authorization.ts'
import { dropPending, savePending, takePending } from './authorization-code-flow.ts'
import {
  isResourceRefusal,
  RESOURCE_REFUSAL_TTL_MS,
  type ResourceRefusal,
  resourceRefusalKey,
  resourceRefused,
  resourceToSend,
  targetRefusedError,
} from './authorization-parameters.ts'
import { deviceFlow } from './device.ts'
import type { DiscoveryResult } from './discovery.ts'
import type { DpopKey } from './dpop.ts'
import type { O4wPolicy } from './o4w.ts'
import { bindPreRegistered, type ClientInfo, forgetClient, resolveClient } from './registration.ts'
import type { Session } from './session.ts'
import { storeKey } from './stores/store.ts'
import { clientCredentials, exchangeCode, exchangeForIdJag, jwtBearer, type TokenSet } from './tokens.ts'

/** Inputs of {@link obtainTokens}. */
export interface ObtainInputs {
  discovery: DiscoveryResult
  reason: 'login' | 'step-up' | 'reauthorize'
  challengedScope: string | undefined
  granted: string | undefined
  dpop: DpopKey | undefined
  policy: O4wPolicy
}

/** https, http on loopback, or a private-use scheme for native apps. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
function assertRedirectUri(uri: string): void {
  let u: URL
  try {
    u = new URL(uri)
  } catch {
    throw new InvalidArgumentError('invalid_redirect_uri', 'the redirect URI is not an absolute URI', {
      spec: SPEC.rfc8252,
      hint: 'Use http://127.0.0.1:<port>/callback, an https URL, or a private-use scheme such as com.example.app:/cb.',
    })
  }
  if (u.protocol === 'http:' && !isLoopbackUrl(u)) {
    throw new InvalidArgumentError(
      'insecure_redirect_uri',
      `redirect URI ${u.origin} is plain http on a remote host`,
      {
        spec: SPEC.mcpSecurity,
        hint: 'Redirect URIs must be https, or http only on loopback (127.0.0.1, [::1], localhost).',
      },
    )
  }
}

async function value(v: string | (() => Promise<string>)): Promise<string> {
  return typeof v === 'function' ? v() : v
}

/**
 * Get tokens for the session's server with the grant its configuration and the AS call for.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function obtainTokens(
  session: Session,
  i: ObtainInputs,
): Promise<{ tokens: TokenSet; client: ClientInfo }> {
  const o = session.options
  const d = i.discovery
  const scope = selectScope({
    configured: o.scope,
    challenged: i.challengedScope,
    prmScopes: d.prm?.scopes_supported,
    asScopes: d.metadata.scopes_supported,
    granted: i.granted,
    offlineAccess: o.offlineAccess ?? true,
  })
  const grants = d.metadata.grant_types_supported
  const machine =
    o.grant === 'client_credentials' ||
    (o.grant !== 'authorization_code' &&
      grants !== undefined &&
      !grants.includes('authorization_code') &&
      grants.includes('client_credentials'))
  const refused = await resourceRefused(session.store, d.issuer, d.resource)
  let resource = resourceToSend(o.resourceParameter, d.resource, refused !== undefined)
  if (refused && resource === undefined && o.resourceParameter === undefined)
    session.log(`not sending resource to ${d.issuer}: it refused the parameter before (${refused.error})`)
  const base = {
    issuer: d.issuer,
    metadata: d.metadata,
    identity: session.identity(),
    store: session.store,
    policy: i.policy,
  }

  if (o.workloadIdentity || o.enterprise || machine) {
    // Non-interactive grants never offer offline_access: there is no user to hold a refresh grant for.
    const plainScope = selectScope({
      configured: o.scope,
      challenged: i.challengedScope,
      granted: i.granted,
      prmScopes: d.prm?.scopes_supported,
      offlineAccess: false,
    })
    const client = await resolveClient({ ...base, grantTypes: [] })
    const ctx = { metadata: d.metadata, client, policy: i.policy, dpop: i.dpop }
    if (o.workloadIdentity) {
      // The assertion is only ever presented to the authorization server it is for.
      const bound = o.workloadIdentity.issuer
      if (bound !== undefined && bound !== d.issuer) {
        throw new InvalidArgumentError(
          'workload_identity_issuer_mismatch',
          `the workload identity is for ${bound}, not ${d.issuer}`,
          {
            spec: SPEC.mcpRegistration,
            hint: 'The server now names another authorization server; configure a workload identity for it.',
          },
        )
      }
      if (bound === undefined)
        await bindPreRegistered(session.store, `workload-identity ${client.client_id}`, d.issuer)
      session.log('exchanging the workload identity assertion (jwt-bearer grant)')
      return {
        tokens: await jwtBearer(ctx, await value(o.workloadIdentity.assertion), plainScope, resource),
        client,
      }
    }
    if (o.enterprise) {
      session.log('getting an identity assertion grant from the enterprise IdP')
      const e = o.enterprise
      const idp = {
        metadata: { issuer: e.issuer ?? new URL(e.tokenEndpoint).origin, token_endpoint: e.tokenEndpoint },
        client: {
          issuer: e.issuer ?? '',
          client_id: e.clientId,
          ...(e.clientSecret ? { client_secret: e.clientSecret } : {}),
          token_endpoint_auth_method: e.clientSecret ? ('client_secret_post' as const) : ('none' as const),
          source: 'pre-registered' as const,
          created_at: Date.now(),
        },
        policy: i.policy,
      }
      const idJag = await exchangeForIdJag(idp, {
        subjectToken: await value(e.idToken),
        subjectTokenType: 'urn:ietf:params:oauth:token-type:id_token',
        audience: d.issuer,
        resource: d.resource,
        ...(plainScope ? { scope: plainScope } : {}),
      })
      return { tokens: await jwtBearer(ctx, idJag, plainScope, resource), client }
    }
    if (client.token_endpoint_auth_method === 'none') {
      throw new InvalidArgumentError(
        'client_credentials_need_secret',
        'the client credentials grant needs a client secret or key',
        {
          spec: SPEC.rfc6749,
          hint: 'Configure the pre-registered client with a secret (--client-secret-env) or a private key.',
        },
      )
    }
    session.log('requesting a token with the client credentials grant')
    return { tokens: await clientCredentials(ctx, plainScope, resource), client }
  }

  const authorizer = o.authorizer
  if (!authorizer) {
    throw new InteractionRequiredError(
      'interaction_required',
      `signing in to ${redactUrl(session.server)} needs a person`,
      {
        spec: SPEC.mcpAuth,
        hint: `Run mcp-oauth login ${redactUrl(session.server)} in a terminal, or pass an authorizer to the session.`,
      },
    )
  }

  if (authorizer.preferDeviceCode && d.metadata.device_authorization_endpoint && authorizer.showDeviceCode) {
    const client = await resolveClient({
      ...base,
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    })
    const ctx = { metadata: d.metadata, client, policy: i.policy, dpop: i.dpop }
    const tokens = await deviceFlow(ctx, {
      scope,
      resource,
      show: (prompt) =>
        authorizer.showDeviceCode!(prompt, {
          expectedIssuer: d.issuer,
          issParameterSupported: d.metadata.authorization_response_iss_parameter_supported === true,
          resource: d.resource,
          reason: i.reason,
        }),
    })
    return { tokens, client }
  }

  // Refuse before anything is registered: PKCE S256 (skipped only on the 2025-03-26 default-endpoint path,
  // where there is no metadata to read) and a redirect URI that is https, loopback http or a private-use scheme.
  if (!d.defaultEndpoints) assertPkceS256(d.metadata)
  // An authorizer that can ask nobody (CI) says so before a listener starts or a client is registered.
  const nobody = authorizer.refusal?.(scope, {
    expectedIssuer: d.issuer,
    issParameterSupported: d.metadata.authorization_response_iss_parameter_supported === true,
    resource: d.resource,
    reason: i.reason,
  })
  if (nobody) throw nobody
  const redirectUri =
    typeof authorizer.redirectUri === 'string' ? authorizer.redirectUri : await authorizer.redirectUri()
  assertRedirectUri(redirectUri)
  // Register with every scope the server may ask for later, so an AS that holds a DCR client to its registered
  // scope (RFC 7591 §2 allows it; oidc-provider does) never refuses a step-up. Only scopes the AS lists, when it
  // lists any: an AS may refuse to register scopes it does not know (resource-only scopes).
  const registrable = (...extra: (string | undefined)[]) => {
    const all = unionScope(d.prm?.scopes_supported, scope, ...extra)
    const listed = d.metadata.scopes_supported
    return formatScope(listed ? all.filter((s) => listed.includes(s)) : all)
  }
  let registrationScope = registrable()
  let replacing: string | undefined
  const recovered = new Set<string>()
  // Only a client stored before this attempt may be re-registered on invalid_scope, and only for scopes the AS
  // (or, when it lists none, the PRM) says exist: a hostile server's made-up scope must not replace the client
  // other servers' sessions share.
  const storedBefore = (await session.store.get<ClientInfo>(storeKey.registration(d.issuer)))?.value.client_id
  const known = d.metadata.scopes_supported ?? d.prm?.scopes_supported ?? []
  const requested = parseScope(scope)
  const scopesKnown = requested.length > 0 && requested.every((s) => known.includes(s))
  for (;;) {
    const client = await resolveClient({
      ...base,
      redirectUri,
      ...(registrationScope ? { scope: registrationScope } : {}),
      ...(replacing ? { replacing } : {}),
    })
    const pending = await buildAuthorizationRequest({
      metadata: d.metadata,
      client,
      redirectUri,
      resource,
      scope,
      legacy: d.defaultEndpoints ?? false,
      dpopJkt: i.dpop?.jkt,
      extraParams: o.authorizationParams,
      reauthenticate: o.reauthenticate ?? false,
    })
    // Kept in the store like a sign-in begun in one request and completed in another (authorization-callback.ts).
    const about = { client_id: client.client_id, server: session.server, account: session.account }
    await savePending(
      session.store,
      pending,
      { ...about, dpop_jwk: i.dpop?.privateJwk as Record<string, unknown> | undefined },
      authorizer.pendingTtlMs,
    )
    session.log(`signing in to ${redactUrl(session.server)} at ${d.issuer}`)
    const callback = await authorizer
      .authorize(pending.url, {
        state: pending.state,
        expectedIssuer: pending.expectedIssuer,
        issParameterSupported: pending.issParameterSupported,
        resource: d.resource,
        reason: i.reason,
      })
      .catch(async (e: unknown) => {
        // beginAuthorization's authorizer stops here on purpose: its record is what it returns.
        if (!(e instanceof Error && e.name === 'Redirected')) await dropPending(session.store, pending.state)
        throw e
      })
    try {
      // Once only, here as across processes (an error answer too): a replayed callback finds nothing.
      if (callback.searchParams.get('state') === pending.state)
        await takePending(session.store, callback, { ignoreExpiry: true })
      else await dropPending(session.store, pending.state)
      const params = validateCallback(pending, client, callback)
      const ctx = { metadata: d.metadata, client, policy: i.policy, dpop: i.dpop }
      const tokens = await exchangeCode(ctx, {
        callback: params,
        redirectUri,
        codeVerifier: pending.codeVerifier,
        resource,
        ...(scope ? { scope } : {}),
      })
      return { tokens, client }
    } catch (e) {
      const rescope = scopesKnown && client.client_id === storedBefore && client.client_id !== replacing
      const recovery = recoveryFor(e, client, resource !== undefined, recovered, rescope)
      if (!recovery) {
        if (resource !== undefined && e instanceof OAuthResponseError && e.error === 'invalid_target')
          throw targetRefusedError(e, d.issuer, resource)
        throw e
      }
      recovered.add(recovery)
      if (recovery === 'invalid_client') {
        // A purged DCR client: forget it and register again, once.
        session.log('the authorization server no longer knows this client; registering again')
        await forgetClient(session.store, client)
      } else if (recovery === 'invalid_scope') {
        // A stored DCR client registered with fewer scopes than asked for now: register once more with the union.
        session.log('the authorization server holds this client to its registered scope; registering again')
        replacing = client.client_id
        registrationScope = registrable(client.scope)
      } else {
        const error = e instanceof OAuthResponseError ? e.error : 'refused'
        session.log(`${d.issuer} refused the resource parameter (${error}); retrying once without it`)
        session.trace.add({
          kind: 'token',
          url: d.issuer,
          outcome: 'rejected',
          code: 'resource_parameter_refused',
          note: `${error}: retried without resource; remembered for this issuer and resource for 24 h`,
        })
        session.trace.warn(
          `${d.issuer} refuses the resource parameter for ${d.resource}; it is omitted for 24 h`,
        )
        const at = Date.now()
        const remembered: ResourceRefusal = {
          issuer: d.issuer,
          resource: d.resource,
          error,
          at,
          expires_at: at + RESOURCE_REFUSAL_TTL_MS,
        }
        await session.store.set(resourceRefusalKey(d.issuer, d.resource), remembered)
        resource = undefined
      }
    }
  }
}

/**
 * Which one-time recovery an authorization failure allows: re-registration after `invalid_client` or
 * `invalid_scope` (a stored DCR client), or a retry without `resource` when the AS refuses the parameter.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
function recoveryFor(
  e: unknown,
  client: ClientInfo,
  resourceSent: boolean,
  done: ReadonlySet<string>,
  rescope: boolean,
): 'invalid_client' | 'invalid_scope' | 'resource' | undefined {
  if (!(e instanceof OAuthResponseError)) return undefined
  const dcr = client.source === 'dcr'
  if (dcr && e.error === 'invalid_client' && !done.has('invalid_client')) return 'invalid_client'
  if (dcr && rescope && e.error === 'invalid_scope' && !done.has('invalid_scope')) return 'invalid_scope'
  if (resourceSent && !done.has('resource') && isResourceRefusal(e)) return 'resource'
  return undefined
}
