/**
 * `npm run bench:gateway`: what `serve --proxy` adds to a tools/call. The same SDK v2 server is called (a) with
 * the kit in front in its own process ("direct": the same token check, no forwarding) and (b) through the
 * gateway (the kit, then a loopback hop to the upstream). Sequential requests give the added p50; 8 concurrent
 * ones the throughput ratio. Variants interleave over rounds; medians reported. Last line: the JSON summary.
 */
import { fork } from 'node:child_process'
import http from 'node:http'

const SEQUENTIAL = Number(process.env['BENCH_SEQUENTIAL'] ?? 300)
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 600)
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)

type Variant = { url: string; token: string }
const child = fork(new URL('./server.ts', import.meta.url), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const ready = await new Promise<Record<'direct' | 'gateway', Variant>>((resolve, reject) => {
  child.once('message', (m) => resolve((m as { ready: Record<'direct' | 'gateway', Variant> }).ready))
  child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
})
setTimeout(() => {
  console.error('gateway bench: no result after 180 s; giving up')
  child.kill()
  process.exit(1)
}, 180_000).unref()

// A 2026-07-28 tools/call as the SDK v2 client sends it (envelope in _meta, Mcp-Method/Mcp-Name headers).
const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: {
    name: 'echo',
    arguments: {},
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' },
    },
  },
})

function one(agent: http.Agent, v: Variant): Promise<{ ms: number; ok: boolean }> {
  const target = new URL(v.url)
  const t0 = performance.now()
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
          authorization: `Bearer ${v.token}`,
          'content-length': String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () =>
          resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 && text.includes('"ok"') }),
        )
      },
    )
    req.on('error', () => resolve({ ms: performance.now() - t0, ok: false }))
    req.end(body)
  })
}

async function sequential(v: Variant): Promise<{ p50: number; p10: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const times: number[] = []
  let errors = 0
  for (let i = 0; i < SEQUENTIAL; i++) {
    const r = await one(agent, v)
    times.push(r.ms)
    if (!r.ok) errors++
  }
  agent.destroy()
  const sorted = [...times].sort((a, b) => a - b)
  return { p50: median(times), p10: sorted[Math.floor(0.1 * (sorted.length - 1))]!, errors }
}

async function throughput(v: Variant): Promise<{ rps: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  let errors = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next++
        if (!(await one(agent, v)).ok) errors++
      }
    }),
  )
  agent.destroy()
  return { rps: REQUESTS / ((performance.now() - t0) / 1000), errors }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const names = ['direct', 'gateway'] as const
// Warm-up: JIT, the token cache, keep-alive connections (the gateway's to the upstream too).
for (const n of names) await throughput(ready[n])
const p50: Record<string, number[]> = { direct: [], gateway: [] }
const p10: Record<string, number[]> = { direct: [], gateway: [] }
const rps: Record<string, number[]> = { direct: [], gateway: [] }
let errors = 0
for (let round = 0; round < ROUNDS; round++) {
  for (const n of round % 2 ? [...names].reverse() : names) {
    const s = await sequential(ready[n])
    const t = await throughput(ready[n])
    p50[n]!.push(s.p50)
    p10[n]!.push(s.p10)
    rps[n]!.push(t.rps)
    errors += s.errors + t.errors
  }
}
child.kill()
const summary = {
  rounds: ROUNDS,
  sequential_per_round: SEQUENTIAL,
  concurrent_per_round: REQUESTS,
  concurrency: CONCURRENCY,
  p50_ms: { direct: +median(p50['direct']!).toFixed(3), gateway: +median(p50['gateway']!).toFixed(3) },
  added_p50_ms: +(median(p50['gateway']!) - median(p50['direct']!)).toFixed(3),
  // On a loaded machine the p50 swings with other processes; the p10 shows the hop's own cost more steadily.
  added_p10_ms: +(median(p10['gateway']!) - median(p10['direct']!)).toFixed(3),
  rps: { direct: Math.round(median(rps['direct']!)), gateway: Math.round(median(rps['gateway']!)) },
  throughput_ratio: +(median(rps['gateway']!) / median(rps['direct']!)).toFixed(3),
  errors,
}
console.log(
  `sequential p50: direct ${summary.p50_ms.direct} ms, gateway ${summary.p50_ms.gateway} ms (added ${summary.added_p50_ms} ms; added p10 ${summary.added_p10_ms} ms)`,
)
console.log(
  `throughput (${CONCURRENCY} concurrent): direct ${summary.rps.direct} req/s, gateway ${summary.rps.gateway} req/s (ratio ${summary.throughput_ratio})`,
)
console.log(JSON.stringify(summary))
if (errors) process.exitCode = 1
