/**
 * bench/proxy: `mcp-oauth connect` vs mcp-remote (pinned devDependency) vs a direct SDK client, in one run,
 * on the same protected MCP server (2025-11-25 with sessions, which all three speak). `connect` runs from the
 * packed and installed package (`npm pack`, then `npm ci --offline` into an empty project), as hosts run it.
 * Rows: spawn → first answer (median), sequential p50/p99 and throughput, throughput with 16 callers, bridge CPU
 * per sequential call (utime + stime of the bridge process from /proc), bridge RSS after start, after the
 * timed run, and at 8,000 and 32,000 calls of a long run (flat means nothing grows per call). A fourth subject,
 * the floor (floor.js: a raw-socket Node pipe with no OAuth, no probe and no error handling), shows in the same
 * run what Node itself costs on this machine to move a message through a process; its figures bound what any
 * Node bridge can reach here. The last line printed is a JSON summary.
 *
 * Usage: npm run bench:proxy [-- --calls 2000 --concurrency 16 --parallel-calls 4000 --startups 10
 *        --long-calls 32000 --from packed|clone]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { type Authorizer, FileStore, Session } from '../../src/client/index.ts'
import { HeadlessAgent } from '../../test/e2e/authorization-server-helpers.ts'
import { packAndInstall } from '../../test/support/packed-package.ts'
import { USER } from '../../test/support/protected-mcp.ts'

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'parallel-calls': { type: 'string', default: '4000' },
    startups: { type: 'string', default: '10' },
    'long-calls': { type: 'string', default: '32000' },
    from: { type: 'string', default: 'packed' },
  },
})
const CALLS = Number(values.calls)
const CONCURRENCY = Number(values.concurrency)
const PARALLEL_CALLS = Number(values['parallel-calls'])
const STARTUPS = Number(values.startups)
const LONG_CALLS = Number(values['long-calls'])
const root = fileURLToPath(new URL('../..', import.meta.url))
const log = (line: string) => process.stderr.write(`${line}\n`)
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

/** Resident set size of a process now (VmRSS) and at its peak (VmHWM), in MB. */
function rssMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** CPU time (user + system, all threads) a process has used so far, in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / USER_HZ) * 1e6
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

interface Figures {
  startup_ms: number
  p50_ms: number
  p99_ms: number
  throughput_seq_rps: number
  throughput_rps: number
  cpu_us_per_call?: number
  rss_start_mb?: number
  rss_after_run_mb?: number
  rss_at_8000_mb?: number
  rss_at_32000_mb?: number
  peak_rss_mb?: number
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
  const rssStart = new Map<string, number>()
  for (const subject of subjects) {
    const c = await subject.connect()
    await c.client.listTools()
    live.set(subject.name, c)
    if (c.pid) rssStart.set(subject.name, rssMb(c.pid).now)
  }
  const call = (c: Connected, i: number) => c.client.callTool({ name: 'echo', arguments: { value: `v${i}` } })
  for (const c of live.values()) for (let i = 0; i < 200; i++) await call(c, i) // warm-up
  const lat = new Map<string, number[]>(subjects.map((s) => [s.name, []]))
  const cpu = new Map<string, number>(subjects.map((s) => [s.name, 0]))
  const ROUNDS = 10
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      const c = live.get(subject.name)!
      const cpu0 = c.pid ? cpuUs(c.pid) : 0
      for (let i = 0; i < CALLS / ROUNDS; i++) {
        const t0 = performance.now()
        await call(c, i)
        lat.get(subject.name)!.push(performance.now() - t0)
      }
      if (c.pid) cpu.set(subject.name, cpu.get(subject.name)! + cpuUs(c.pid) - cpu0)
    }
  }
  const busy = new Map<string, number>(subjects.map((s) => [s.name, 0]))
  const concurrent = async (c: Connected, n: number) => {
    let next = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await call(c, next++)
      }),
    )
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      const t0 = performance.now()
      await concurrent(live.get(subject.name)!, PARALLEL_CALLS / ROUNDS)
      busy.set(subject.name, busy.get(subject.name)! + (performance.now() - t0))
    }
  }
  const rssAfterRun = new Map<string, number>()
  for (const [name, c] of live) if (c.pid) rssAfterRun.set(name, rssMb(c.pid).now)
  // The long run: RSS after 8,000 and after 32,000 calls (counted from here), 16 callers to keep it short.
  const rssAt = new Map<string, { at8000: number; at32000: number }>()
  for (const subject of subjects) {
    const c = live.get(subject.name)!
    if (!c.pid || LONG_CALLS < 8000) continue
    await concurrent(c, 8000)
    const at8000 = rssMb(c.pid).now
    await concurrent(c, LONG_CALLS - 8000)
    rssAt.set(subject.name, { at8000, at32000: rssMb(c.pid).now })
  }
  const results: Record<string, Figures> = {}
  const round = (n: number) => Number(n.toFixed(3))
  for (const subject of subjects) {
    const c = live.get(subject.name)!
    const peak = c.pid ? rssMb(c.pid).peak : undefined
    await c.close()
    const l = lat.get(subject.name)!
    const sorted = [...l].sort((a, b) => a - b)
    const bridge = c.pid
      ? {
          cpu_us_per_call: round(cpu.get(subject.name)! / CALLS),
          rss_start_mb: round(rssStart.get(subject.name)!),
          rss_after_run_mb: round(rssAfterRun.get(subject.name)!),
          ...(rssAt.has(subject.name)
            ? {
                rss_at_8000_mb: round(rssAt.get(subject.name)!.at8000),
                rss_at_32000_mb: round(rssAt.get(subject.name)!.at32000),
              }
            : {}),
          peak_rss_mb: round(peak!),
        }
      : {}
    results[subject.name] = {
      startup_ms: round(median(startups.get(subject.name)!)),
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
      throughput_seq_rps: round(CALLS / (l.reduce((a, b) => a + b, 0) / 1000)),
      throughput_rps: round(PARALLEL_CALLS / (busy.get(subject.name)! / 1000)),
      ...bridge,
    }
  }
  return results
}

/** The figures as the table of issue 14: one row per figure, one column per subject. */
function table(all: Record<string, Figures>): string {
  const names = Object.keys(all)
  const rows: [string, (f: Figures) => number | undefined][] = [
    ['spawn → first answer, median (ms)', (f) => f.startup_ms],
    ['sequential p50 (ms)', (f) => f.p50_ms],
    ['sequential p99 (ms)', (f) => f.p99_ms],
    ['sequential throughput (calls/s)', (f) => f.throughput_seq_rps],
    [`${CONCURRENCY} callers throughput (calls/s)`, (f) => f.throughput_rps],
    ['bridge CPU per sequential call (µs)', (f) => f.cpu_us_per_call],
    ['bridge RSS after start (MB)', (f) => f.rss_start_mb],
    ['bridge RSS after the timed run (MB)', (f) => f.rss_after_run_mb],
    ['bridge RSS at 8,000 long-run calls (MB)', (f) => f.rss_at_8000_mb],
    [`bridge RSS at ${LONG_CALLS.toLocaleString('en')} long-run calls (MB)`, (f) => f.rss_at_32000_mb],
    ['bridge peak RSS (MB)', (f) => f.peak_rss_mb],
  ]
  const cell = (v: number | undefined) => (v === undefined ? '—' : String(Number(v.toFixed(2))))
  return [
    `| figure | ${names.join(' | ')} |`,
    `| --- |${names.map(() => ' --- |').join('')}`,
    ...rows.map(([label, get]) => `| ${label} | ${names.map((n) => cell(get(all[n]!))).join(' | ')} |`),
  ].join('\n')
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
  const packDir = mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-pack-'))
  try {
    let bin = join(root, 'bin/mcp-oauth.js')
    if (values.from === 'packed') {
      log('bench/proxy: packing and installing the package (npm pack, npm ci --offline)…')
      const packed = await packAndInstall(packDir)
      bin = join(packed.project, 'node_modules/mcp-oauth-toolkit/bin/mcp-oauth.js')
    }
    // One sign-in through the real login and consent pages (HTTP agent), stored where `connect` looks.
    const agent = new HeadlessAgent()
    const redirect = 'http://127.0.0.1:9/callback'
    const authorizer: Authorizer = {
      redirectUri: redirect,
      authorize: async (url) => new URL((await agent.authorize(url.href, redirect, USER)).callback),
    }
    // The key-file notice would name this run's temporary folder in the printed output: not needed here.
    const store = new FileStore({ dir, announceKeyFile: false })
    // Bearer tokens, so that mcp-remote and the direct client can present the same token in a header.
    const session = new Session({ serverUrl: server.mcp, store, authorizer, dpop: 'never' })
    const tokens = await session.authorize({ reason: 'login' })
    const bearer = `Bearer ${tokens.access_token}`
    const env = {
      ...(process.env as Record<string, string>),
      HOME: dir,
      XDG_CONFIG_HOME: dir,
      BENCH_FLOOR_TOKEN: tokens.access_token,
    }

    const stdio = (name: string, command: string, args: string[]): Subject => ({
      name,
      async connect() {
        // Each start its own mcp-remote config directory: a start closed right after its first answer can be
        // killed mid-write, and mcp-remote then fails the next start on its half-renamed file.
        const own = { ...env, MCP_REMOTE_CONFIG_DIR: mkdtempSync(join(dir, 'mcp-remote-')) }
        const transport = new StdioClientTransport({
          command,
          args,
          env: own,
          stderr: process.env['BENCH_STDERR'] ? 'inherit' : 'ignore',
        })
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
      bin,
      'connect',
      server.mcp,
      '--store',
      'file',
      '--store-dir',
      dir,
    ])
    const floor = stdio('node floor', process.execPath, [join(root, 'bench/proxy/floor.js'), server.mcp])
    const remote = stdio('mcp-remote 0.15.1', process.execPath, [
      join(root, 'node_modules/mcp-remote/dist/proxy.js'),
      server.mcp,
      '--header',
      `Authorization:${bearer}`,
    ])

    const load = loadavg().map((n) => n.toFixed(2))
    log(
      `bench/proxy: connect from ${values.from === 'packed' ? 'the packed install' : 'the clone'}; ${CALLS} sequential calls, ${CONCURRENCY} callers × ${PARALLEL_CALLS} calls, ${STARTUPS} startups, ${LONG_CALLS} long-run calls; load average ${load.join(' ')}`,
    )
    const all = await measureAll([direct, oauth, remote, floor])
    const d = all[direct.name]!
    const o = all[oauth.name]!
    const m = all[remote.name]!
    const f = all[floor.name]!
    log(table(all))
    const ratio = (a: number, b: number) => Number((a / b).toFixed(3))
    const result = {
      startup_ms: o.startup_ms,
      p50_overhead_ms: Number((o.p50_ms - d.p50_ms).toFixed(3)),
      cpu_us_per_call: o.cpu_us_per_call,
      rss_mb: {
        start: o.rss_start_mb,
        after_run: o.rss_after_run_mb,
        at_8000: o.rss_at_8000_mb,
        // `at_32000` with the default --long-calls; the key names the count the run made.
        [`at_${LONG_CALLS}`]: o.rss_at_32000_mb,
        peak: o.peak_rss_mb,
      },
      vs_direct: {
        throughput_seq: ratio(o.throughput_seq_rps, d.throughput_seq_rps),
        throughput_conc: ratio(o.throughput_rps, d.throughput_rps),
      },
      vs_mcp_remote: {
        startup: ratio(o.startup_ms, m.startup_ms),
        p50: ratio(o.p50_ms, m.p50_ms),
        throughput: ratio(o.throughput_rps, m.throughput_rps),
        rss: ratio(o.rss_after_run_mb ?? 0, m.rss_after_run_mb ?? 1),
      },
      vs_floor: {
        startup_extra_ms: Number((o.startup_ms - f.startup_ms).toFixed(3)),
        cpu_us_per_call: ratio(o.cpu_us_per_call ?? 0, f.cpu_us_per_call ?? 1),
        rss_after_run: ratio(o.rss_after_run_mb ?? 0, f.rss_after_run_mb ?? 1),
      },
      load_average: loadavg().map((n) => Number(n.toFixed(2))),
      direct: d,
      mcp_oauth: o,
      mcp_remote: m,
      floor: f,
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
  } finally {
    child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
    rmSync(packDir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
