/**
 * Memory of a real `mcp-oauth serve` process under load: resident set size (VmRSS) and its peak (VmHWM, read from
 * /proc) before, during and after BENCH_MEMORY_SECONDS (default 60) of mixed traffic from many loopback
 * addresses (so per-address limits do not turn the load into 429s): dynamic registrations, sign-ins with the
 * memory-hard password hash, signed-in code flows, refresh grants, MCP calls with good and forged tokens.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import {
  HeadlessAgent,
  json,
  pkce,
  registerClient,
  spawnServe,
} from '../../test/e2e/authorization-server-helpers.ts'

const redirect = 'http://127.0.0.1:9/callback'

/** Resident set size and its high-water mark of `pid`, in MB (Linux /proc). */
function residentMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024
  return { rss: Math.round(field('VmRSS')), peak: Math.round(field('VmHWM')) }
}

/** A cookie-keeping agent whose requests leave from one loopback address. */
class AddressedAgent extends HeadlessAgent {
  readonly #dispatcher: Agent
  constructor(dispatcher: Agent) {
    super()
    this.#dispatcher = dispatcher
  }
  override request(url: string, init: RequestInit = {}): Promise<Response> {
    return super.request(url, { ...init, dispatcher: this.#dispatcher } as RequestInit)
  }
}

/** Runs the load against a spawned `serve` and returns the memory figures in MB. */
export async function measureServeMemory(seconds: number, workers: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-mem-'))
  const password = randomBytes(12).toString('base64url')
  const serve = await spawnServe(
    ['--port', '0', '--quiet', '--store', `sqlite:${join(dir, 'as.db')}`, '--user', `alice:${password}`],
    { MCP_OAUTH_DATA_DIR: dir },
  )
  const pid = serve.ready.pid
  const { issuer, mcp } = serve.ready
  // 250 source addresses: many clients, as behind a busy deployment, each within its per-address budget.
  const dispatchers = Array.from({ length: 250 }, (_, i) => new Agent({ localAddress: `127.0.1.${1 + i}` }))
  let turn = 0
  const nextDispatcher = () => dispatchers[turn++ % dispatchers.length]!
  const call = (url: string, init: RequestInit) =>
    fetch(url, { ...init, dispatcher: nextDispatcher() } as RequestInit)
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const before = residentMb(pid)
    const clientIds = await Promise.all(
      Array.from({ length: workers }, async () => (await registerClient(issuer, [redirect]))['client_id']),
    )
    const flow = async (agent: HeadlessAgent, clientId: string) => {
      const { verifier, challenge } = pkce()
      const url = `${issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: mcp,
        scope: 'tools:read',
      })}`
      const { callback } = await agent.authorize(url, redirect, { username: 'alice', password })
      const code = new URL(callback).searchParams.get('code')!
      return await json(
        await call(`${issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            client_id: clientId,
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirect,
            code_verifier: verifier,
          }),
        }),
      )
    }
    const mcpCall = (token: string) =>
      call(mcp, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      }).then((r) => r.arrayBuffer())

    const deadline = performance.now() + seconds * 1000
    let peakDuring = before.peak
    const sampler = setInterval(() => {
      peakDuring = Math.max(peakDuring, residentMb(pid).peak)
    }, 500)
    const counts = { flows: 0, sign_ins: 0, refreshes: 0, registrations: 0, mcp_calls: 0 }
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        let session = new AddressedAgent(nextDispatcher())
        for (let round = 0; performance.now() < deadline; round++) {
          // Every 4th round a fresh browser (sign-in with scrypt) and a new DCR client; else the signed-in session.
          let clientId = clientIds[w] as string
          if (round % 4 === 0) {
            session = new AddressedAgent(nextDispatcher())
            clientId = (await registerClientFrom(issuer, call))['client_id'] as string
            counts.registrations++
            counts.sign_ins++
          }
          const tokens = await flow(session, clientId)
          counts.flows++
          let refresh = tokens['refresh_token'] as string
          let access = tokens['access_token'] as string
          for (let i = 0; i < 3; i++) {
            await mcpCall(access)
            // A forged token with a random kid and a random opaque string: refused, and must not be remembered.
            await mcpCall(`${randomBytes(40).toString('base64url')}`)
            counts.mcp_calls += 2
            const next = await json(
              await call(`${issuer}/token`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({
                  client_id: clientId,
                  grant_type: 'refresh_token',
                  refresh_token: refresh,
                }),
              }),
            )
            if (typeof next['refresh_token'] !== 'string')
              throw new Error(`refresh failed: ${JSON.stringify(next)}`)
            refresh = next['refresh_token']
            access = next['access_token']
            counts.refreshes++
          }
        }
      }),
    )
    clearInterval(sampler)
    const after = residentMb(pid)
    // Idle for a while: memory held only by garbage or expiring caches should be given back or stay flat.
    await new Promise((resolve) => setTimeout(resolve, 15_000))
    const idle = residentMb(pid)
    return {
      load_seconds: seconds,
      workers,
      ...counts,
      rss_before_load_mb: before.rss,
      peak_rss_before_load_mb: before.peak,
      peak_rss_during_load_mb: Math.max(peakDuring, after.peak),
      rss_after_load_mb: after.rss,
      rss_after_15s_idle_mb: idle.rss,
    }
  } finally {
    await serve.stop()
    await Promise.all(dispatchers.map((d) => d.close()))
    rmSync(dir, { recursive: true, force: true })
  }
}

async function registerClientFrom(
  issuer: string,
  call: (url: string, init: RequestInit) => Promise<Response>,
): Promise<Record<string, string>> {
  const r = await call(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
  })
  if (r.status !== 201) throw new Error(`registration failed: ${r.status} ${await r.text()}`)
  return (await r.json()) as Record<string, string>
}
