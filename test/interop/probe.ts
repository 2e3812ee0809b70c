/**
 * Probes that show a profile's quirk is real, without mcp-oauth's client: a bare registration, a bare
 * authorization request, a whole code flow by hand, a refresh. If a profile's server stopped behaving like the
 * product, these fail, and the client passing the zoo would prove nothing.
 */
import { createHash, randomBytes } from 'node:crypto'
import { type Credentials, formAgent } from './person.ts'
import type { ZooServer } from './zoo-server.ts'

const REDIRECT = 'http://127.0.0.1:9/callback'

/** The authorization server's OpenID metadata (every zoo provider serves it under some well-known URL). */
export async function metadataOf(zoo: ZooServer, path: string): Promise<Record<string, string>> {
  const r = await fetch(`${zoo.origin}${path}`)
  if (!r.ok) throw new Error(`no metadata at ${path}: HTTP ${r.status}`)
  return (await r.json()) as Record<string, string>
}

/** Register a native public client (anonymously). */
export async function register(
  endpoint: string,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, string> }> {
  const r = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...extra,
    }),
  })
  return { status: r.status, body: (await r.json()) as Record<string, string> }
}

/** The first answer of the authorization endpoint to `params`: where it redirects, or its status. */
export async function authorizeOnce(endpoint: string, params: Record<string, string>): Promise<URL | number> {
  const url = new URL(endpoint)
  const verifier = randomBytes(32).toString('base64url')
  url.search = new URLSearchParams({
    response_type: 'code',
    redirect_uri: REDIRECT,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString()
  const r = await fetch(url, { redirect: 'manual' })
  await r.body?.cancel()
  const location = r.headers.get('location')
  return location ? new URL(location, url) : r.status
}

/** A whole authorization-code flow by hand (the person posts the forms): the token endpoint's JSON answer. */
export async function codeFlow(
  metadata: Record<string, string>,
  credentials: Credentials,
  client: { client_id: string; client_secret?: string },
  params: Record<string, string>,
): Promise<Record<string, string>> {
  const verifier = randomBytes(32).toString('base64url')
  const url = new URL(metadata['authorization_endpoint']!)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    state: 'probe',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString()
  const back = await formAgent(credentials).signIn(url, REDIRECT)
  const code = back.searchParams.get('code')
  if (!code) throw new Error(`no code: ${back.search}`)
  return token(metadata, client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  })
}

/** One token request. */
export async function token(
  metadata: Record<string, string>,
  client: { client_id: string; client_secret?: string },
  params: Record<string, string>,
): Promise<Record<string, string>> {
  const r = await fetch(metadata['token_endpoint']!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ ...client, ...params }),
  })
  return (await r.json()) as Record<string, string>
}
