/**
 * The registration fixtures of spec-coverage.test.ts: an authorization server at fixed URLs whose registration
 * endpoint records what it is sent.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#client-registration
 */
import { type ClientIdentity, type ResolveClientOptions, resolveClient } from './registration.ts'
import { MemoryStore } from './stores/store.ts'
import { fakeFetch } from './testing.ts'

/** Fixture. */
export const AS = 'https://as.example'
/** Fixture. */
export const OTHER_AS = 'https://other-as.example'
/** Fixture. */
export const LOOPBACK = 'http://127.0.0.1:4711/callback'
/** Fixture. */
export const CIMD = 'https://app.example/oauth/client.json'

/** Authorization server metadata at {@link AS} with DCR and PKCE S256. */
export function metadata(overrides: Record<string, unknown> = {}) {
  return {
    issuer: AS,
    authorization_endpoint: `${AS}/authorize`,
    token_endpoint: `${AS}/token`,
    registration_endpoint: `${AS}/register`,
    code_challenge_methods_supported: ['S256'],
    ...overrides,
  }
}

/** A registration endpoint that records what it was sent. */
export function registrar(answer: (body: Record<string, unknown>) => { status?: number; json: unknown }) {
  const bodies: Record<string, unknown>[] = []
  const { fetch, calls } = fakeFetch({
    [`POST ${AS}/register`]: async (req) => {
      const body = (await req.json()) as Record<string, unknown>
      bodies.push(body)
      return answer(body)
    },
  })
  return { fetch, calls, bodies }
}

let registrations = 0
/** A registration endpoint's answer: a new client for the redirect URIs sent. */
export const echoRegistration = (body: Record<string, unknown>) => ({
  status: 201,
  json: { client_id: `dcr-${++registrations}`, redirect_uris: body['redirect_uris'] },
})

/** `resolveClient` at {@link AS} for a loopback redirect URI, with a fresh store unless given one. */
export function resolve(
  fetch: ResolveClientOptions['policy']['fetch'],
  identity: Partial<ClientIdentity>,
  extra: Partial<ResolveClientOptions> = {},
) {
  return resolveClient({
    issuer: AS,
    metadata: metadata(),
    identity: { client_name: 'spec coverage', ...identity },
    store: new MemoryStore(),
    redirectUri: LOOPBACK,
    policy: { fetch },
    ...extra,
  })
}
