/**
 * Benchmark child process: one authorization server on 127.0.0.1, chosen by argv[2]:
 * - `oidc-provider`: oidc-provider 9 alone with its in-memory adapter, configured as ours is for the measured
 *   paths (one resource, ES256 JWT access tokens, refresh rotation, S256 PKCE, open registration of one public
 *   client), kept in plain Maps, with the smallest sign-in and consent pages that work, whose sign-in checks
 *   the same password hash ours does (the same `verifyPassword`: scrypt with the same parameters, two at once at
 *   most), as a deployment of oidc-provider would: the ceiling;
 * - `sqlite`, `postgres`, `memory`: createAuthorizationServer on that storage (rate limits off, no audit sink).
 * Reports its issuer over IPC and answers CPU and memory questions (restarting its peak resident size on request,
 * Linux /proc/self/clear_refs), so the parent measures this process only, and per workload sample.
 * BENCH_CHEAP_HASH=1 (profiling only, never for reported figures): our user's hash is stored with scrypt's
 * lowest parameters this server still verifies (N=2^10, r=1, p=1), so a CPU profile of sign-ins shows the main
 * thread without hashing threads competing for the cores; the production parameters are untouched.
 */
import { randomBytes, scrypt } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createAuthorizationServer,
  createPostgresStorage,
  createSealer,
  createSqliteStorage,
  generateStorageKey,
  hashPassword,
  verifyPassword,
} from '../../src/authorization-server/index.ts'
import { POSTGRES_URL } from '../../test/support/environment.ts'

export const RESOURCE = 'https://mcp.example.com/mcp'
export const SCOPES = ['tools:read', 'notes:write']
export const USER = { username: 'alice', password: 'correct horse battery' }

const variant = process.argv[2] ?? 'oidc-provider'
const server = http.createServer({ keepAliveTimeout: 60_000 })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const cleanups: (() => Promise<void>)[] = []

/**
 * oidc-provider's Adapter over plain Maps. Its own development adapter is an LRU of 1,000 entries, which this
 * load overflows (live grants get evicted and refreshes fail); this one keeps every artifact until it expires.
 */
function memoryAdapter(): (model: string) => unknown {
  const rows = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>()
  const index = new Map<string, string>()
  const grants = new Map<string, Set<string>>()
  const live = (key: string | undefined) => {
    const row = key === undefined ? undefined : rows.get(key)
    if (row && row.expiresAt <= Date.now()) rows.delete(key!)
    else return row?.payload
    return undefined
  }
  return (model) => ({
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      const key = `${model}:${id}`
      rows.set(key, {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY,
      })
      if (typeof payload['uid'] === 'string') index.set(`${model}:uid:${payload['uid']}`, key)
      if (typeof payload['userCode'] === 'string') index.set(`${model}:code:${payload['userCode']}`, key)
      if (typeof payload['grantId'] === 'string') {
        const members = grants.get(payload['grantId']) ?? new Set()
        members.add(key)
        grants.set(payload['grantId'], members)
      }
    },
    find: async (id: string) => live(`${model}:${id}`),
    findByUid: async (uid: string) => live(index.get(`${model}:uid:${uid}`)),
    findByUserCode: async (code: string) => live(index.get(`${model}:code:${code}`)),
    async consume(id: string) {
      const row = rows.get(`${model}:${id}`)
      if (row) row.payload['consumed'] = Math.floor(Date.now() / 1000)
    },
    async destroy(id: string) {
      rows.delete(`${model}:${id}`)
    },
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) rows.delete(key)
      grants.delete(grantId)
    },
  })
}

/** oidc-provider alone: the configuration ours adds to, minus storage, sign-in hashing and our front handler. */
async function ceiling(): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const passwordHash = await benchPasswordHash()
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256', use: 'sig' }
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', ...SCOPES],
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      RefreshToken: 30 * 24 * 3600,
      Grant: 365 * 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: SCOPES.join(' '),
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  } as ConstructorParameters<typeof Provider>[1])
  const callback = provider.callback()
  const page = (res: ServerResponse, action: string, login: boolean) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(
      `<!doctype html><form method="post" action="${action}"><input type="hidden" name="csrf" value="x">${
        login ? '<input name="username"><input name="password" type="password">' : ''
      }<button>Go</button></form>`,
    )
  }
  const interaction = async (req: IncomingMessage, res: ServerResponse, uid: string, action?: string) => {
    const details = await provider.interactionDetails(req, res)
    if (req.method === 'GET')
      return page(res, `/interaction/${uid}/${details.prompt.name}`, details.prompt.name === 'login')
    let body = ''
    for await (const chunk of req) body += chunk
    const form = new URLSearchParams(body)
    if (action === 'login') {
      if (
        form.get('username') !== USER.username ||
        !(await verifyPassword(form.get('password') ?? '', passwordHash))
      ) {
        res.writeHead(401).end()
        return
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: USER.username } },
        { mergeWithLastSubmission: false },
      )
      return
    }
    // As ours does: the session's existing grant is extended (a new one would end the tokens of the old).
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId: USER.username, clientId: String(details.params['client_id']) })
    const missing = details.prompt.details as {
      missingOIDCScope?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '))
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true },
    )
  }
  return (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/.exec(req.url ?? '')
    if (!match) return void callback(req, res)
    interaction(req, res, match[1]!, match[2]).catch((error) => {
      res.writeHead(500).end(String(error))
    })
  }
}

/** The user's stored hash: as production makes it, or (BENCH_CHEAP_HASH=1) the cheapest one still verified. */
async function benchPasswordHash(): Promise<string> {
  if (process.env['BENCH_CHEAP_HASH'] !== '1') return await hashPassword(USER.password)
  const salt = randomBytes(16)
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(USER.password, salt, 32, { N: 1024, r: 1, p: 1 }, (error, derived) =>
      error ? reject(error) : resolve(derived),
    ),
  )
  return ['scrypt', 1024, 1, 1, salt.toString('base64url'), key.toString('base64url')].join('$')
}

async function ours(): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const sealer = createSealer(generateStorageKey())
  let storage: AuthorizationServerStorage | undefined
  if (variant === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    storage = await createSqliteStorage(join(dir, 'as.db'), { sealer, purgeIntervalSeconds: 0 })
  } else if (variant === 'postgres') {
    const prefix = `bench_${randomBytes(4).toString('hex')}_`
    storage = await createPostgresStorage(POSTGRES_URL, {
      sealer,
      tablePrefix: prefix,
      purgeIntervalSeconds: 0,
    })
    cleanups.push(async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`DROP TABLE IF EXISTS ${prefix}models, ${prefix}secrets, ${prefix}counters`)
      await admin.end()
    })
  }
  const as = await createAuthorizationServer({
    issuer,
    resources: [{ uri: RESOURCE, scopes: SCOPES }],
    users: [{ username: USER.username, passwordHash: await benchPasswordHash() }],
    ...(storage ? { storage } : {}),
    rateLimits: false,
  })
  cleanups.unshift(async () => {
    await as.close()
    await storage?.close()
  })
  return as.handler
}

/** CPU time of this process (all threads, so scrypt on libuv's pool counts), in microseconds. */
function cpuMicros(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

/**
 * CPU time spent so far on libuv's worker threads (nanosecond run time from /proc schedstat), in microseconds:
 * where `crypto.scrypt` runs, so during sign-in flows it is the password hashing as it was actually spent.
 */
function poolMicros(): number | undefined {
  let ns = 0
  let workers = 0
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      workers++
    } catch {}
  }
  // No named worker (another libuv) or no schedstat (a kernel without it): unknown, never a silent zero.
  return workers > 0 && Number.isFinite(ns) ? ns / 1000 : undefined
}

function residentMb(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8')
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024
  return { rss: Math.round(field('VmRSS')), peak: Math.round(field('VmHWM')) }
}

server.on('request', variant === 'oidc-provider' ? await ceiling() : await ours())
process.send?.({ ready: { issuer } })
process.on('message', (m) => {
  const msg = m as {
    cpu?: number
    gc?: boolean
    resetPeak?: boolean
    close?: boolean
  }
  if (msg.cpu !== undefined) {
    if (msg.gc) (globalThis as { gc?: () => void }).gc?.()
    // The peak (VmHWM) restarts from the current size, so the next answer's peak is that of one sample.
    if (msg.resetPeak) writeFileSync('/proc/self/clear_refs', '5')
    process.send?.({ cpu: msg.cpu, micros: cpuMicros(), pool: poolMicros(), ...residentMb() })
  }
  if (msg.close) {
    server.closeAllConnections()
    server.close()
    ;(async () => {
      for (const cleanup of cleanups) await cleanup().catch(() => {})
      process.exit(0)
    })()
  }
})
