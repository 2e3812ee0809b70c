/**
 * `npm run bench:resource-server`: tools/call requests per second through mcp-oauth-toolkit/server versus the same
 * SDK v2 server without auth and versus the SDK's requireBearerAuth with a jose verifier, ES256 and RS256,
 * all in one run on loopback, in two workloads:
 * - `reused`: one token per variant, sent with every request (a client between refreshes): the kit answers
 *   from its verified-token cache after the first request, the SDK gate verifies the signature every time;
 * - `distinct`: a token never sent before on every request (minted here ahead of each sample from a pool of
 *   thousands): the signature verification path, for both.
 * Every variant reads and parses the body the same way. Server in a child process, load from this one;
 * variants interleaved over several rounds, the median per variant reported. Last line: the JSON summary.
 */
import { fork } from 'node:child_process'
import http from 'node:http'
import { cpus, loadavg } from 'node:os'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 400)
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 300)
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8)
const MAX_ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 40)
/** Measuring stops starting new rounds after this long, so a slow machine still finishes in about 1.5 minutes. */
const BUDGET_MS = Number(process.env['BENCH_BUDGET_MS'] ?? 60_000)

const ISSUER = 'http://127.0.0.1:1/bench-issuer'

type Variants = Record<string, { url: string; alg?: 'ES256' | 'RS256' }>

const keys = { ES256: await generateKeyPair('ES256'), RS256: await generateKeyPair('RS256') }
const jwks = {
  keys: [
    { ...(await exportJWK(keys.ES256.publicKey)), kid: 'es', alg: 'ES256', use: 'sig' },
    { ...(await exportJWK(keys.RS256.publicKey)), kid: 'rs', alg: 'RS256', use: 'sig' },
  ],
}
let serial = 0
/** A fresh access token for `aud` (each has its own jti, so no two are the same string). */
const mint = (alg: 'ES256' | 'RS256', aud: string) =>
  new SignJWT({ scope: 'mcp', client_id: 'bench', sub: 'bench-user' })
    .setProtectedHeader({ alg, kid: alg === 'ES256' ? 'es' : 'rs', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(aud)
    .setJti(`t${++serial}`)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(keys[alg].privateKey)

const child = fork(new URL('./server.ts', import.meta.url), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  execArgv: [...process.execArgv, '--expose-gc'],
  env: { ...process.env, BENCH_JWKS: JSON.stringify(jwks) },
})
const variants = await new Promise<Variants>((resolve, reject) => {
  child.once('message', (m) => resolve((m as { ready: Variants }).ready))
  child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
})
const started = Date.now()
// A crashed or stuck server must not leave the run hanging: hard stop well past the normal ~90 s.
setTimeout(() => {
  console.error('resource-server bench: no result after 240 s; giving up')
  child.kill()
  process.exit(1)
}, 240_000).unref()
child.once('exit', (code) => {
  if (code !== null && code !== 0) {
    console.error(`resource-server bench: server exited with ${code}`)
    process.exit(1)
  }
})

let cpuSeq = 0
/** The server child's CPU time so far, in microseconds (user + system). */
function serverCpu(gc = false): Promise<number> {
  const seq = ++cpuSeq
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const msg = m as { cpu?: number; micros?: number }
      if (msg.cpu !== seq) return
      child.off('message', on)
      resolve(msg.micros!)
    }
    child.on('message', on)
    child.send({ cpu: seq, gc })
  })
}

/** Record the exact request the official SDK client sends for tools/call (2026-07-28 headers and envelope). */
async function captureToolsCall(url: string): Promise<{ headers: Record<string, string>; body: string }> {
  let captured: { headers: Record<string, string>; body: string } | undefined
  // 2026-07-28 (the spec baseline): per-request envelope and Mcp-Method/Mcp-Name headers.
  const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } })
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : ''
      if (body.includes('"tools/call"')) {
        captured = { headers: Object.fromEntries(new Headers(init?.headers).entries()), body }
      }
      return fetch(input, init)
    },
  })
  await client.connect(transport)
  await client.callTool({ name: 'echo', arguments: {} })
  await client.close()
  if (!captured) throw new Error('did not see the tools/call request')
  return captured
}

const template = await captureToolsCall(variants['noauth']!.url)

type Workload = 'reused' | 'distinct'
const reusedTokens: Record<string, string> = {}
for (const [n, v] of Object.entries(variants)) if (v.alg) reusedTokens[n] = await mint(v.alg, v.url)

/** The tokens a sample sends: the variant's one token, or `count` tokens never sent before. */
async function tokensFor(name: string, workload: Workload, count: number): Promise<(string | undefined)[]> {
  const v = variants[name]!
  if (!v.alg) return []
  if (workload === 'reused') return [reusedTokens[name]!]
  return await Promise.all(Array.from({ length: count }, () => mint(v.alg!, v.url)))
}

async function load(
  url: string,
  tokens: (string | undefined)[],
  count: number,
): Promise<{ rps: number; cpuRps: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const target = new URL(url)
  const base: Record<string, string> = {
    ...template.headers,
    'content-length': String(Buffer.byteLength(template.body)),
  }
  let next = 0
  let errors = 0
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const token = tokens[i % Math.max(1, tokens.length)]
      const headers = token ? { ...base, authorization: `Bearer ${token}` } : base
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => {
            text += d
          })
          res.on('end', () => {
            if (res.statusCode !== 200 || !text.includes('"ok"')) errors++
            resolve()
          })
        },
      )
      req.on('error', () => {
        errors++
        resolve()
      })
      req.end(template.body)
    })
  const worker = async () => {
    while (next < count) {
      await one(next++)
    }
  }
  const cpu0 = await serverCpu(true)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - t0) / 1000
  const cpuSeconds = ((await serverCpu()) - cpu0) / 1e6
  agent.destroy()
  return { rps: count / seconds, cpuRps: count / cpuSeconds, errors }
}

const names = ['noauth', 'kit_es256', 'sdk_es256', 'kit_rs256', 'sdk_rs256'] as const
const workloads: Workload[] = ['reused', 'distinct']
type Metric = 'wall' | 'cpu'
const METRIC: Metric = process.env['BENCH_METRIC'] === 'wall' ? 'wall' : 'cpu'
const key = (w: Workload, n: string) => `${w}.${n}`
const samples: Record<Metric, Record<string, number[]>> = { wall: {}, cpu: {} }
for (const w of workloads)
  for (const n of names) for (const m of ['wall', 'cpu'] as const) samples[m][key(w, n)] = []
for (const w of workloads)
  for (const n of names) {
    const r = await load(variants[n]!.url, await tokensFor(n, w, WARMUP), WARMUP)
    if (r.errors) throw new Error(`${w} ${n}: ${r.errors} failed requests during warm-up`)
  }
// Ratios are taken within each round (variants measured back to back), then the median over rounds: on a
// shared machine the load drifts over seconds, and pairing cancels most of that drift.
const pairs = [
  ['es_noauth', 'kit_es256', 'noauth'],
  ['es_sdk', 'kit_es256', 'sdk_es256'],
  ['rs_noauth', 'kit_rs256', 'noauth'],
  ['rs_sdk', 'kit_rs256', 'sdk_rs256'],
] as const
const ratios: Record<Metric, Record<string, number[]>> = { wall: {}, cpu: {} }
for (const w of workloads)
  for (const [k] of pairs) for (const m of ['wall', 'cpu'] as const) ratios[m][key(w, k)] = []
let rounds = 0
let seed = 0x2f6b
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const j = seed % (i + 1)
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}
while (rounds < MAX_ROUNDS && (rounds < 3 || Date.now() - started < BUDGET_MS)) {
  for (const w of workloads) {
    // A fresh (seeded) order each round, so no variant always follows the same neighbour.
    const order = shuffle([...names])
    const got: Record<Metric, Record<string, number>> = { wall: {}, cpu: {} }
    for (const n of order) {
      const r = await load(variants[n]!.url, await tokensFor(n, w, REQUESTS), REQUESTS)
      if (r.errors) throw new Error(`${w} ${n}: ${r.errors} failed requests`)
      samples.wall[key(w, n)]!.push(r.rps)
      samples.cpu[key(w, n)]!.push(r.cpuRps)
      got.wall[n] = r.rps
      got.cpu[n] = r.cpuRps
    }
    for (const m of ['wall', 'cpu'] as const)
      for (const [k, a, b] of pairs) ratios[m][key(w, k)]!.push(got[m][a]! / got[m][b]!)
  }
  rounds++
}
child.kill()

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const round3 = (x: number) => Math.round(x * 1000) / 1000
console.log(
  `resource-server bench: ${REQUESTS} tools/call per sample, concurrency ${CONCURRENCY}, ${rounds} rounds, ` +
    `warm-up ${WARMUP}, ${((Date.now() - started) / 1000).toFixed(1)} s, loopback, server in a child process, ` +
    `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs`,
)
const described: Record<Workload, string> = {
  reused: 'workload "reused": one token per variant, sent with every request (kit: verified-token cache)',
  distinct: `workload "distinct": a token never sent before on every request (${serial} minted in all): signature verification`,
}
for (const w of workloads) {
  console.log(described[w])
  for (const m of ['wall', 'cpu'] as const) {
    console.log(
      m === 'wall'
        ? '  wall-clock requests per second (median, then samples):'
        : '  requests per second of server CPU time (median, then samples):',
    )
    for (const n of names) {
      const xs = samples[m][key(w, n)]!
      console.log(
        `    ${n.padEnd(10)} ${median(xs).toFixed(0).padStart(6)}  (${xs.map((x) => x.toFixed(0)).join(', ')})`,
      )
    }
    for (const [k] of pairs) {
      const xs = ratios[m][key(w, k)]!
      console.log(
        `    ratio ${k.padEnd(10)} ${median(xs).toFixed(3)}  (${xs.map((x) => x.toFixed(2)).join(', ')})`,
      )
    }
  }
}
const r = ratios[METRIC]
console.log(
  `summary below uses ${METRIC === 'cpu' ? 'requests per server CPU-second' : 'wall-clock requests per second'} (BENCH_METRIC=${METRIC})`,
)
const summary = Object.fromEntries(
  workloads.map((w) => [
    w,
    {
      es256: {
        ratio_vs_noauth: round3(median(r[key(w, 'es_noauth')]!)),
        ratio_vs_sdk: round3(median(r[key(w, 'es_sdk')]!)),
      },
      rs256: {
        ratio_vs_noauth: round3(median(r[key(w, 'rs_noauth')]!)),
        ratio_vs_sdk: round3(median(r[key(w, 'rs_sdk')]!)),
      },
    },
  ]),
)
console.log(JSON.stringify(summary))
