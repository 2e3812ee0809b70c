/**
 * `npm run bench:authorization-server`: our authorization server on SQLite and PostgreSQL against oidc-provider
 * alone with its in-memory adapter (the ceiling), in one run, over real loopback sockets. Each server runs in
 * its own child process (server.ts), so its CPU time and peak resident memory are its own; the load comes
 * from this process. Per variant and round:
 * - refresh grants: BENCH_CONCURRENCY (default 10) workers each rotating its own refresh-token chain;
 * - code exchanges: authorization codes obtained beforehand with a signed-in session, then only the token
 *   requests are measured;
 * - signed-in flows: authorize → consent → code → token with a signed-in session (the client is a native app,
 *   RFC 8252 §8.6, so both servers ask consent every time);
 * - sign-in flows: a fresh browser each time (authorize → sign-in → consent → code → token). Each sign-in,
 *   the ceiling's too, checks the password against the same deliberate memory-hard hash (scrypt) on libuv's
 *   worker threads; the CPU those threads spent during the flows (/proc schedstat) is reported apart and also
 *   shown subtracted, so the rest of the work is compared under the same contention for the cores. Every
 *   workload's worker-thread CPU is printed: ours is zero outside sign-in, the ceiling's signs its tokens there
 *   (about 0.1 ms per operation, subtracted with its hash, which counts against ours).
 * Figures are operations per second of the server's CPU time (user + system; steady under a shared machine's
 * load) and per wall-clock second; ratios are taken to the ceiling within each round, then the median over
 * BENCH_ROUNDS (default 3) rounds. Peak resident memory is given over the whole run and per workload (the peak
 * restarted before each sample): the sign-in flows' peak holds the password hash's deliberate memory (scrypt,
 * 8 MiB per derivation, two at most at once), which the ceiling does not spend.
 * Every server runs under the allocator settings and the V8 flag `mcp-oauth serve` sets for itself
 * (src/cli/malloc-arenas.ts).
 * Then the memory of a real `mcp-oauth serve` under mixed load (memory.ts).
 * Prints a human report on stderr and, as the last stdout line, one JSON object of the figures.
 * BENCH_ONLY=throughput or BENCH_ONLY=memory runs one half; BENCH_VARIANTS picks variants (comma-separated);
 * BENCH_WORKLOADS picks workloads; BENCH_PROFILE=<folder> writes each server's CPU profile there.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { SERVE_MALLOC_ENV, SERVE_V8_FLAGS } from '../../src/cli/malloc-arenas.ts'
import { HeadlessAgent, json, pkce, registerClient } from '../../test/e2e/authorization-server-helpers.ts'
import { postgresAvailable } from '../../test/support/environment.ts'
import { measureServeMemory } from './memory.ts'

const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 10)
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3)
const counts = {
  refresh: Number(process.env['BENCH_REFRESHES'] ?? 2000),
  code_exchange: Number(process.env['BENCH_CODES'] ?? 400),
  signed_in_flow: Number(process.env['BENCH_FLOWS'] ?? 300),
  sign_in_flow: Number(process.env['BENCH_SIGN_INS'] ?? 40),
}
const memorySeconds = Number(process.env['BENCH_MEMORY_SECONDS'] ?? 60)
const only = process.env['BENCH_ONLY']
const redirect = 'http://127.0.0.1:9/callback'
const USER = { username: 'alice', password: 'correct horse battery' }
const CEILING = 'oidc-provider'
type Workload = keyof typeof counts
const workloads = (process.env['BENCH_WORKLOADS']?.split(',') ?? Object.keys(counts)) as Workload[]

interface Variant {
  name: string
  child: ChildProcess
  issuer: string
  clientId: string
  sessions: HeadlessAgent[]
  chains: string[]
}

let seq = 0
/**
 * Asks a child for its CPU time (µs) and resident memory (MB), after a full collection when `gc`; `resetPeak`
 * then restarts its peak from the current size (so the next probe's peak is that of what ran in between).
 */
function probe(
  v: Variant,
  gc = false,
  resetPeak = false,
): Promise<{ micros: number; pool?: number; rss: number; peak: number }> {
  const id = ++seq
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const msg = m as { cpu?: number; micros: number; pool?: number; rss: number; peak: number }
      if (msg.cpu !== id) return
      v.child.off('message', on)
      resolve(msg)
    }
    v.child.on('message', on)
    v.child.send({ cpu: id, gc, resetPeak })
  })
}

async function start(name: string): Promise<Variant> {
  const child = fork(new URL('./server.ts', import.meta.url), [name], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Every server under the allocator settings and V8 flag `mcp-oauth serve` runs with (a variable set here
    // wins), the ceiling too: like for like, and what an operator of ours runs.
    env: { ...SERVE_MALLOC_ENV, ...process.env },
    execArgv: [
      ...SERVE_V8_FLAGS,
      ...process.execArgv,
      '--expose-gc',
      // BENCH_PROFILE=<folder>: each server writes a V8 CPU profile there on exit (open it in Chrome DevTools).
      ...(process.env['BENCH_PROFILE']
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`]
        : []),
    ],
  })
  const ready = await new Promise<{ issuer: string }>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { ready: { issuer: string } }).ready))
    child.once('exit', (code) => reject(new Error(`${name} bench server exited with ${code}`)))
  })
  // A native app (RFC 8252), as MCP clients are: both servers then ask consent on every authorization.
  const client = await registerClient(ready.issuer, [redirect], { application_type: 'native' })
  const v: Variant = {
    name,
    child,
    issuer: ready.issuer,
    clientId: client['client_id'] as string,
    sessions: [],
    chains: [],
  }
  // One signed-in browser per worker; its first flow also starts that worker's refresh-token chain.
  for (let w = 0; w < concurrency; w++) {
    const agent = new HeadlessAgent()
    v.sessions.push(agent)
    v.chains.push((await exchange(v, await authorize(v, agent)))['refresh_token'] as string)
  }
  return v
}

async function authorize(v: Variant, agent: HeadlessAgent): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce()
  const url = `${v.issuer}/auth?${new URLSearchParams({
    response_type: 'code',
    client_id: v.clientId,
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: 'https://mcp.example.com/mcp',
    scope: 'tools:read notes:write',
  })}`
  const { callback } = await agent.authorize(url, redirect, USER)
  return { code: new URL(callback).searchParams.get('code')!, verifier }
}

const token = (v: Variant, fields: Record<string, string>) =>
  fetch(`${v.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: v.clientId, ...fields }),
  }).then(json)

async function exchange(v: Variant, { code, verifier }: { code: string; verifier: string }) {
  const tokens = await token(v, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirect,
    code_verifier: verifier,
  })
  if (typeof tokens['refresh_token'] !== 'string' || typeof tokens['access_token'] !== 'string')
    throw new Error(`${v.name}: code exchange failed: ${JSON.stringify(tokens)}`)
  return tokens
}

/** Runs `total` steps over the workers; returns steps per server CPU-second and per wall-clock second. */
async function sample(
  v: Variant,
  total: number,
  step: (worker: number) => Promise<void>,
  workers = concurrency,
) {
  const before = await probe(v, true, true)
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < total) {
        next++
        await step(w)
      }
    }),
  )
  const wall = (performance.now() - started) / 1000
  const after = await probe(v)
  const cpu = (after.micros - before.micros) / 1e6
  return {
    cpu: total / cpu,
    wall: total / wall,
    cpuMsPerOp: (cpu * 1000) / total,
    poolMsPerOp:
      after.pool === undefined || before.pool === undefined
        ? Number.NaN
        : (after.pool - before.pool) / 1000 / total,
    passwordCheckMs: 0,
    peakMb: after.peak,
  }
}

async function measure(v: Variant, workload: Workload, total: number) {
  if (workload === 'refresh') {
    return await sample(v, total, async (w) => {
      const tokens = await token(v, { grant_type: 'refresh_token', refresh_token: v.chains[w]! })
      if (typeof tokens['refresh_token'] !== 'string')
        throw new Error(`${v.name}: refresh failed: ${JSON.stringify(tokens)}`)
      v.chains[w] = tokens['refresh_token']
    })
  }
  if (workload === 'code_exchange') {
    const codes: { code: string; verifier: string }[] = []
    await Promise.all(
      v.sessions.map(async (agent) => {
        while (codes.length < total) codes.push(await authorize(v, agent))
      }),
    )
    return await sample(v, total, async () => {
      await exchange(v, codes.pop()!)
    })
  }
  if (workload === 'signed_in_flow') {
    return await sample(v, total, async (w) => {
      await exchange(v, await authorize(v, v.sessions[w]!))
    })
  }
  const flows = await sample(v, total, async () => {
    await exchange(v, await authorize(v, new HeadlessAgent()))
  })
  // libuv's workers run the scrypt of every sign-in (and, for the ceiling, its token signing too), so what they
  // spent during the flows is the hashing as it was spent under this load.
  if (Number.isNaN(flows.poolMsPerOp))
    throw new Error(
      `${v.name}: libuv's worker threads cannot be read (/proc/self/task/*/schedstat), so the password hash cannot be reported apart; run with BENCH_WORKLOADS=refresh,code_exchange,signed_in_flow`,
    )
  return { ...flows, passwordCheckMs: flows.poolMsPerOp }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const r3 = (x: number) => Math.round(x * 1000) / 1000
const r1 = (x: number) => Math.round(x * 10) / 10

const results: Record<string, unknown> = {
  concurrency,
  rounds,
  operations_per_sample: counts,
  cpus: cpus().length,
  load_average_1m: r1(loadavg()[0]!),
  node: process.version,
}
const log = (line: string) => process.stderr.write(`${line}\n`)

if (only !== 'memory') {
  const names = (process.env['BENCH_VARIANTS'] ?? `${CEILING},sqlite,postgres`).split(',')
  if (names.includes('postgres') && !(await postgresAvailable())) {
    names.splice(names.indexOf('postgres'), 1)
    log('postgres: not available at 127.0.0.1:5432; skipped')
  }
  if (!names.includes(CEILING)) names.unshift(CEILING)
  const variants: Variant[] = []
  try {
    for (const name of names) variants.push(await start(name))
    // Warm-up: every workload once at a tenth of its size (JIT, caches, connection pools).
    for (const v of variants)
      for (const w of workloads) await measure(v, w, Math.max(concurrency, Math.ceil(counts[w] / 10)))
    type Sample = {
      cpu: number
      wall: number
      cpuMsPerOp: number
      poolMsPerOp: number
      passwordCheckMs: number
      peakMb: number
    }
    const got: Record<string, Record<Workload, Sample[]>> = {}
    const ratios: Record<string, Record<string, number[]>> = {}
    for (const v of variants) {
      got[v.name] = { refresh: [], code_exchange: [], signed_in_flow: [], sign_in_flow: [] }
      ratios[v.name] = {}
    }
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1}/${rounds} (load average ${loadavg()[0]!.toFixed(1)})`)
      for (const w of workloads) {
        // Variants back to back per workload, order rotating per round, so drift in the load hits all alike.
        const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
        const now: Record<string, Sample> = {}
        for (const v of order) {
          now[v.name] = await measure(v, w, counts[w])
          got[v.name]![w].push(now[v.name]!)
        }
        for (const v of variants) {
          const c = now[CEILING]!
          const s = now[v.name]!
          const add = (key: string, value: number) => {
            const list = ratios[v.name]![key] ?? []
            list.push(value)
            ratios[v.name]![key] = list
          }
          add(`${w}_cpu`, s.cpu / c.cpu)
          add(`${w}_wall`, s.wall / c.wall)
          if (w === 'sign_in_flow')
            add(
              'sign_in_flow_without_password_hash_cpu',
              (c.cpuMsPerOp - c.passwordCheckMs) / (s.cpuMsPerOp - s.passwordCheckMs),
            )
        }
      }
    }
    const memory: Record<string, { rss: number; peak: number }> = {}
    for (const v of variants) memory[v.name] = await probe(v, true)
    // Peak resident size during each workload's samples (restarted before each), highest over the rounds.
    const peakOf = (name: string, w: Workload) => Math.max(...got[name]![w].map((s) => s.peakMb))
    log(
      `\nauthorization server: ${rounds} rounds, ${concurrency} workers, per sample ${JSON.stringify(counts)}; ` +
        'servers in child processes, loopback',
    )
    log('operations per second of server CPU time, median (samples), and ratio to the ceiling (per round):')
    for (const w of workloads) {
      log(`  ${w}`)
      for (const v of variants) {
        const xs = got[v.name]![w].map((s) => s.cpu)
        const ratio = median(ratios[v.name]![`${w}_cpu`]!)
        log(
          `    ${v.name.padEnd(14)} ${median(xs).toFixed(1).padStart(8)}  (${xs.map((x) => x.toFixed(1)).join(', ')})` +
            `  ×${ratio.toFixed(2)}  wall ${median(got[v.name]![w].map((s) => s.wall)).toFixed(1)}/s ×${median(ratios[v.name]![`${w}_wall`]!).toFixed(2)}`,
        )
      }
    }
    log("CPU on libuv's worker threads per operation (ms, median), where scrypt runs:")
    for (const w of workloads)
      log(
        `  ${w.padEnd(16)}${variants.map((v) => `${v.name} ${median(got[v.name]![w].map((s) => s.poolMsPerOp)).toFixed(3)}`).join('  ')}`,
      )
    if (workloads.includes('sign_in_flow'))
      log(
        "  sign_in_flow without the password hash (the CPU of libuv's workers during the flows subtracted):",
      )
    for (const v of workloads.includes('sign_in_flow') ? variants : [])
      log(
        `    ${v.name.padEnd(14)} password hashing ${median(got[v.name]!.sign_in_flow.map((s) => s.passwordCheckMs)).toFixed(1)} ms CPU per flow  ` +
          `×${median(ratios[v.name]!['sign_in_flow_without_password_hash_cpu']!).toFixed(2)}`,
      )
    log('peak resident memory after all rounds (MB), and ratio to the ceiling:')
    for (const v of variants)
      log(
        `    ${v.name.padEnd(14)} rss ${memory[v.name]!.rss}  peak ${memory[v.name]!.peak}  ×${(memory[v.name]!.peak / memory[CEILING]!.peak).toFixed(2)}`,
      )
    log('peak resident memory during each workload (MB, highest sample), and ratio to the ceiling:')
    for (const w of workloads)
      log(
        `  ${w.padEnd(16)}${variants.map((v) => `${v.name} ${peakOf(v.name, w)} ×${(peakOf(v.name, w) / peakOf(CEILING, w)).toFixed(2)}`).join('  ')}`,
      )
    for (const v of variants) {
      const figures: Record<string, unknown> = {}
      for (const w of workloads) {
        figures[`${w}_per_cpu_s`] = r1(median(got[v.name]![w].map((s) => s.cpu)))
        figures[`${w}_per_s`] = r1(median(got[v.name]![w].map((s) => s.wall)))
        if (v.name !== CEILING) figures[`${w}_ratio`] = r3(median(ratios[v.name]![`${w}_cpu`]!))
      }
      if (v.name !== CEILING) {
        if (workloads.includes('sign_in_flow'))
          figures['sign_in_flow_without_password_hash_ratio'] = r3(
            median(ratios[v.name]!['sign_in_flow_without_password_hash_cpu']!),
          )
        if (workloads.includes('sign_in_flow'))
          figures['password_hash_cpu_ms_per_flow'] = r1(
            median(got[v.name]!.sign_in_flow.map((s) => s.passwordCheckMs)),
          )
        figures['peak_rss_ratio'] = r3(memory[v.name]!.peak / memory[CEILING]!.peak)
      }
      figures['peak_rss_mb'] = memory[v.name]!.peak
      for (const w of workloads) {
        figures[`${w}_peak_rss_mb`] = peakOf(v.name, w)
        if (v.name !== CEILING) figures[`${w}_peak_rss_ratio`] = r3(peakOf(v.name, w) / peakOf(CEILING, w))
      }
      results[v.name] = figures
    }
  } finally {
    await Promise.all(
      variants.map(
        (v) =>
          new Promise((resolve) => {
            v.child.once('exit', resolve)
            v.child.send({ close: true })
          }),
      ),
    )
  }
}
if (only !== 'throughput') {
  const memory = await measureServeMemory(memorySeconds, 8)
  log(`serve memory ${JSON.stringify(memory)}`)
  results['serve_memory'] = memory
}
process.stdout.write(`${JSON.stringify(results)}\n`)
