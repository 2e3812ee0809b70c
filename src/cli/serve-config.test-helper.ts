/** Shared by the serve config tests: a config file served from memory, a full sample, and refusal capture. */
import assert from 'node:assert/strict'
import { isMcpOAuthError } from '../shared/errors.ts'
import type { ServeConfigSources } from './serve-config.ts'

export const FILE = 'mcp-oauth.json'

/** Sources holding one config file (mode 0600 unless given) and an environment. */
export function sources(config: unknown, env: Record<string, string> = {}, mode = 0o600): ServeConfigSources {
  return {
    env,
    readFile: (path) => {
      assert.equal(path, FILE)
      return typeof config === 'string' ? config : JSON.stringify(config)
    },
    fileMode: () => mode,
  }
}

export const SAMPLE = {
  $schema: 'https://unpkg.com/mcp-oauth-toolkit/schema/mcp-oauth.schema.json',
  port: 9000,
  issuer: 'https://auth.example.com',
  store: 'memory',
  accessTokenTtl: 300,
  resources: [
    {
      uri: 'https://mcp.example.com/mcp',
      scopes: ['mcp', 'tools:read'],
      defaultScopes: ['mcp'],
      toolScopes: { delete_all: ['admin'] },
    },
    { uri: 'http://127.0.0.1:5253/bot', tokenFormat: 'jwt', accessTokenTtl: 60 },
  ],
  users: [
    { username: 'alice', password: { env: 'ALICE_PASSWORD' } },
    {
      username: 'bob',
      passwordHash: 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    },
  ],
  clients: [
    {
      client_id: 'nanobot',
      client_secret: { env: 'NANOBOT_SECRET' },
      redirect_uris: ['http://localhost:8080/mcp/oauth/callback'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'mcp tools:read offline_access',
    },
    { client_id: 'inspector', redirect_uris: ['http://localhost:6274/oauth/callback'] },
  ],
  upstream: { issuer: 'https://accounts.example.com', clientId: 'abc', clientSecret: { env: 'UP' } },
  rateLimits: { loginAccount: { max: 5, windowSeconds: 600 } },
  toolScopes: { create_note: ['notes:write'] },
}
export const ENV = {
  ALICE_PASSWORD: 'correct horse battery',
  NANOBOT_SECRET: 's3cret-from-env',
  UP: 'upstream-secret',
}

/** The error `fn` throws, checked to be one of ours. */
export function refusal(fn: () => unknown): {
  code: string
  message: string
  hint: string
  details: Record<string, unknown>
} {
  try {
    fn()
  } catch (error) {
    assert.ok(isMcpOAuthError(error), String(error))
    return error
  }
  assert.fail('expected a refusal')
}
