/**
 * Authorization server throughput on SQLite and PostgreSQL, over real loopback sockets:
 * - refresh grants per second (rotation on, each grant refreshed in a chain, BENCH_CONCURRENCY chains at once);
 * - complete code flows per second with a fresh browser each time (authorize → login with scrypt → consent →
 *   code → token) and with a signed-in session (authorize → code → token; the grant already covers the scopes).
 * - memory of a real `mcp-oauth serve` process: resident set size before, at peak during and after a
 *   BENCH_MEMORY_SECONDS (default 60) load (see memory.ts).
 * Prints a human table on stderr and, as the last stdout line, one JSON object of the figures.
 * BENCH_ONLY=throughput or BENCH_ONLY=memory runs one half.
 */
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createPostgresStorage,
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../src/authorization-server/index.ts'
import {
  HeadlessAgent,
  json,
  pkce,
  registerClient,
  startAuthorizationServer,
  testUser,
} from '../../test/e2e/authorization-server-helpers.ts'
import { POSTGRES_URL, postgresAvailable } from '../../test/support/environment.ts'
import { measureServeMemory } from './memory.ts'

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5)
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 4)
const memorySeconds = Number(process.env['BENCH_MEMORY_SECONDS'] ?? 60)
const only = process.env['BENCH_ONLY']
const RESOURCE = 'https://mcp.example.com/mcp'
const redirect = 'http://127.0.0.1:9/callback'

/** Runs `step` in `concurrency` loops for `seconds`; returns completed steps per second. */
async function throughput(step: (worker: number) => Promise<void>, workers = concurrency): Promise<number> {
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  let done = 0
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < deadline) {
        await step(worker)
        done++
      }
    }),
  )
  return done / ((performance.now() - started) / 1000)
}

async function measure(name: string, storage: AuthorizationServerStorage) {
  const alice = await testUser()
  const running = await startAuthorizationServer({
    resources: [{ uri: RESOURCE, scopes: ['tools:read', 'notes:write'] }],
    users: [alice.user],
    storage,
    rateLimits: false,
  })
  try {
    const client = await registerClient(running.issuer, [redirect])
    const clientId = client['client_id'] as string
    const post = (fields: Record<string, string>) =>
      fetch(`${running.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: clientId, ...fields }),
      })
    const flow = async (agent: HeadlessAgent) => {
      const { verifier, challenge } = pkce()
      const url = `${running.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: RESOURCE,
      })}`
      const { callback } = await agent.authorize(url, redirect, alice)
      const code = new URL(callback).searchParams.get('code')!
      const tokens = await json(
        await post({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirect,
          code_verifier: verifier,
        }),
      )
      if (typeof tokens['refresh_token'] !== 'string')
        throw new Error(`flow failed: ${JSON.stringify(tokens)}`)
      return tokens['refresh_token'] as string
    }

    // One grant per worker; each refresh uses the token the previous one returned (rotation).
    const chains = await Promise.all(Array.from({ length: concurrency }, () => flow(new HeadlessAgent())))
    await throughput(async (w) => {
      const tokens = await json(await post({ grant_type: 'refresh_token', refresh_token: chains[w]! }))
      chains[w] = tokens['refresh_token']
    }, concurrency).then(() => undefined)
    const refresh = await throughput(async (w) => {
      const tokens = await json(await post({ grant_type: 'refresh_token', refresh_token: chains[w]! }))
      if (typeof tokens['refresh_token'] !== 'string')
        throw new Error(`refresh failed: ${JSON.stringify(tokens)}`)
      chains[w] = tokens['refresh_token']
    })
    const fresh = await throughput(async () => {
      await flow(new HeadlessAgent())
    })
    const sessions = Array.from({ length: concurrency }, () => new HeadlessAgent())
    await Promise.all(sessions.map((agent) => flow(agent)))
    const withSession = await throughput(async (w) => {
      await flow(sessions[w]!)
    })
    const figures = {
      refresh_grants_per_s: Math.round(refresh),
      code_flows_per_s: Math.round(fresh * 10) / 10,
      code_flows_with_session_per_s: Math.round(withSession * 10) / 10,
    }
    process.stderr.write(`${name.padEnd(10)} ${JSON.stringify(figures)}\n`)
    return figures
  } finally {
    await running.close()
    await storage.close()
  }
}

const results: Record<string, unknown> = {
  seconds_per_figure: seconds,
  concurrency,
  cpus: cpus().length,
  load_average_1m: Math.round(loadavg()[0]! * 10) / 10,
  node: process.version,
}
if (only !== 'memory') {
  const sealer = () => createSealer(generateStorageKey())
  results['sqlite'] = await measure(
    'sqlite',
    await (async () => {
      const { mkdtempSync } = await import('node:fs')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      return createSqliteStorage(join(mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-')), 'as.db'), {
        sealer: sealer(),
        purgeIntervalSeconds: 0,
      })
    })(),
  )
  if (await postgresAvailable()) {
    const prefix = `bench_${randomBytes(4).toString('hex')}_`
    try {
      results['postgres'] = await measure(
        'postgres',
        await createPostgresStorage(POSTGRES_URL, {
          sealer: sealer(),
          tablePrefix: prefix,
          purgeIntervalSeconds: 0,
        }),
      )
    } finally {
      const admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`DROP TABLE IF EXISTS ${prefix}models, ${prefix}secrets`)
      await admin.end()
    }
  } else {
    results['postgres'] = null
    process.stderr.write('postgres   not available at 127.0.0.1:5432; skipped\n')
  }
}
if (only !== 'throughput') {
  const memory = await measureServeMemory(memorySeconds, 8)
  process.stderr.write(`serve memory ${JSON.stringify(memory)}\n`)
  results['serve_memory'] = memory
}
process.stdout.write(`${JSON.stringify(results)}\n`)
