/**
 * bench/proxy: `mcp-oauth connect` vs mcp-remote (pinned devDependency) vs a direct SDK client, in one run,
 * on the same protected MCP server (2025-11-25 with sessions, which all three speak).
 * Figures: spawn → first response, per-call p50/p99 over sequential calls, throughput with concurrent callers,
 * peak RSS of the bridge process. The last line printed is a JSON object of the ratios.
 *
 * Usage: npm run bench:proxy [-- --calls 2000 --concurrency 16 --parallel-calls 4000 --startups 5]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { type Authorizer, FileStore, Session } from '../../src/client/index.ts'
import { HeadlessAgent } from '../../test/e2e/authorization-server-helpers.ts'
import { USER } from '../../test/support/protected-mcp.ts'

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'parallel-calls': { type: 'string', default: '4000' },
    startups: { type: 'string', default: '5' },
  },
})
const CALLS = Number(values.calls)
const CONCURRENCY = Number(values.concurrency)
const PARALLEL_CALLS = Number(values['parallel-calls'])
const STARTUPS = Number(values.startups)
const root = fileURLToPath(new URL('../..', import.meta.url))
const log = (line: string) => process.stderr.write(`${line}\n`)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Peak resident set size of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

interface Subject {
  name: string
  connect(): Promise<Connected>
}

interface Connected {
  client: Client
  pid?: number | undefined
  close(): Promise<void>
}

/**
 * Measure all subjects in interleaved rounds, so that machine noise (other processes, CPU frequency) falls on
 * every subject alike rather than on whichever ran during a noisy minute.
 */
async function measureAll(subjects: Subject[]) {
  const startups = new Map<string, number[]>(subjects.map((s) => [s.name, []]))
  for (let i = 0; i < STARTUPS; i++) {
    for (const subject of subjects) {
      const t0 = performance.now()
      const s = await subject.connect()
      await s.client.listTools()
      startups.get(subject.name)!.push(performance.now() - t0)
      await s.close()
    }
  }
  const live = new Map<string, Connected>()
  for (const subject of subjects) live.set(subject.name, await subject.connect())
  const call = (c: Connected, i: number) => c.client.callTool({ name: 'echo', arguments: { value: `v${i}` } })
  for (const c of live.values()) for (let i = 0; i < 200; i++) await call(c, i) // warm-up
  const lat = new Map<string, number[]>(subjects.map((s) => [s.name, []]))
  const ROUNDS = 10
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      const c = live.get(subject.name)!
      for (let i = 0; i < CALLS / ROUNDS; i++) {
        const t0 = performance.now()
        await call(c, i)
        lat.get(subject.name)!.push(performance.now() - t0)
      }
    }
  }
  const busy = new Map<string, number>(subjects.map((s) => [s.name, 0]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      const c = live.get(subject.name)!
      let next = 0
      const n = PARALLEL_CALLS / ROUNDS
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < n) await call(c, next++)
        }),
      )
      busy.set(subject.name, busy.get(subject.name)! + (performance.now() - t0))
    }
  }
  const results: Record<string, Figures> = {}
  for (const subject of subjects) {
    const c = live.get(subject.name)!
    const rss = c.pid ? peakRssMb(c.pid) : undefined
    await c.close()
    const l = lat.get(subject.name)!.sort((a, b) => a - b)
    const st = startups.get(subject.name)!.sort((a, b) => a - b)
    results[subject.name] = {
      startup_ms: st[Math.floor(st.length / 2)]!,
      p50_ms: percentile(l, 50),
      p99_ms: percentile(l, 99),
      throughput_rps: PARALLEL_CALLS / (busy.get(subject.name)! / 1000),
      ...(rss !== undefined ? { peak_rss_mb: rss } : {}),
    }
    log(`${subject.name.padEnd(18)} ${JSON.stringify(results[subject.name])}`)
  }
  return results
}

interface Figures {
  startup_ms: number
  p50_ms: number
  p99_ms: number
  throughput_rps: number
  peak_rss_mb?: number
}

async function main() {
  const child = spawn(process.execPath, [join(root, 'bench/proxy/server.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const server = await new Promise<{ mcp: string }>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (c) => {
      out += c
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!))
    })
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-proxy-'))
  try {
    // One sign-in through the real login and consent pages (HTTP agent), stored where `connect` looks.
    const agent = new HeadlessAgent()
    const redirect = 'http://127.0.0.1:9/callback'
    const authorizer: Authorizer = {
      redirectUri: redirect,
      authorize: async (url) => new URL((await agent.authorize(url.href, redirect, USER)).callback),
    }
    const store = new FileStore({ dir })
    // Bearer tokens, so that mcp-remote and the direct client can present the same token in a header.
    const session = new Session({ serverUrl: server.mcp, store, authorizer, dpop: 'never' })
    const tokens = await session.authorize({ reason: 'login' })
    const bearer = `Bearer ${tokens.access_token}`
    const env = { ...(process.env as Record<string, string>), HOME: dir, XDG_CONFIG_HOME: dir }

    const stdio = (name: string, command: string, args: string[]): Subject => ({
      name,
      async connect() {
        const transport = new StdioClientTransport({ command, args, env, stderr: 'ignore' })
        const client = new Client({ name: 'bench-host', version: '1.0.0' })
        await client.connect(transport)
        return { client, pid: transport.pid ?? undefined, close: () => client.close() }
      },
    })
    const direct: Subject = {
      name: 'direct SDK client',
      async connect() {
        const transport = new StreamableHTTPClientTransport(new URL(server.mcp), {
          requestInit: { headers: { authorization: bearer } },
        })
        const client = new Client({ name: 'bench-direct', version: '1.0.0' })
        await client.connect(transport)
        return { client, close: () => client.close() }
      },
    }
    const oauth = stdio('mcp-oauth connect', process.execPath, [
      join(root, 'bin/mcp-oauth.js'),
      'connect',
      server.mcp,
      '--store',
      'file',
      '--store-dir',
      dir,
    ])
    const remote = stdio('mcp-remote 0.15.1', process.execPath, [
      join(root, 'node_modules/mcp-remote/dist/proxy.js'),
      server.mcp,
      '--header',
      `Authorization:${bearer}`,
    ])

    log(
      `bench/proxy: ${CALLS} sequential calls, ${CONCURRENCY} callers × ${PARALLEL_CALLS} calls, ${STARTUPS} startups`,
    )
    const all = await measureAll([direct, oauth, remote])
    const d = all[direct.name]!
    const o = all[oauth.name]!
    const m = all[remote.name]!
    const result = {
      p50_overhead_ms: Number((o.p50_ms - d.p50_ms).toFixed(3)),
      vs_mcp_remote: {
        startup: Number((o.startup_ms / m.startup_ms).toFixed(3)),
        p50: Number((o.p50_ms / m.p50_ms).toFixed(3)),
        throughput: Number((o.throughput_rps / m.throughput_rps).toFixed(3)),
        rss: Number(((o.peak_rss_mb ?? 0) / (m.peak_rss_mb ?? 1)).toFixed(3)),
      },
      direct: d,
      mcp_oauth: o,
      mcp_remote: m,
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
  } finally {
    child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
