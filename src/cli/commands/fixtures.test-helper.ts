/**
 * Fixtures for the session command unit tests: a store as a login leaves it (with recognisable fake secrets that
 * output must never contain) and captured output streams.
 */
import { MemoryStore, storeKey } from '../../client/index.ts'

/** A store holding one signed-in session for `server` (what a login leaves behind), with recognisable secrets. */
export async function seededStore(
  server: string,
  options: {
    tokenType?: string
    expiresInMs?: number
    refresh?: boolean
    store?: MemoryStore
    issuer?: string
  } = {},
) {
  const store = options.store ?? new MemoryStore()
  const issuer = options.issuer ?? 'https://as.example.com'
  const now = Date.now()
  const key = storeKey.session(server, issuer, 'client-1')
  await store.set(key, {
    server,
    resource: server,
    issuer,
    client_id: 'client-1',
    tokens: {
      access_token: 'SECRET-ACCESS-TOKEN',
      token_type: options.tokenType ?? 'Bearer',
      expires_at: now + (options.expiresInMs ?? 3_600_000),
      ...(options.refresh === false ? {} : { refresh_token: 'SECRET-REFRESH-TOKEN' }),
      scope: 'files:read offline_access',
      issued_at: now,
    },
    updated_at: now,
  })
  await store.set(storeKey.current(server), { key })
  await store.set(storeKey.registration(issuer), {
    issuer,
    client_id: 'client-1',
    token_endpoint_auth_method: 'none',
    source: 'cimd',
    created_at: now,
  })
  return store
}

export function capture() {
  const out = { stdout: '', stderr: '' }
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    },
  }
}
