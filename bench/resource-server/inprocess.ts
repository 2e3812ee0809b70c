/**
 * `node bench/resource-server/inprocess.ts`: the same comparison as run.ts without sockets, for a steadier
 * figure on a busy machine. The real SDK v2 handler (`createMcpHandler`) answers the official client's
 * 2026-07-28 `tools/call` in process, bare, behind the kit, and behind the SDK's requireBearerAuth with a jose
 * verifier (ES256 and RS256); blocks are interleaved, this process's CPU time per block is measured, and the
 * median of per-round ratios is printed.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { type AuthInfo, createMcpHandler, McpServer, requireBearerAuth } from '@modelcontextprotocol/server'
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { createResourceServer, jwtVerifier } from '../../src/server/index.ts'

const BLOCK = Number(process.env['BENCH_BLOCK'] ?? 300)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15)
const RESOURCE = 'http://127.0.0.1:1/mcp'
const ISSUER = 'http://127.0.0.1:1/issuer'

function mcpServer(): McpServer {
  const s = new McpServer({ name: 'bench', version: '1.0.0' })
  s.registerTool('echo', { description: 'echo' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }))
  return s
}
const mcp = createMcpHandler(() => mcpServer())

// Capture the official client's tools/call by routing its fetch straight into the handler.
let template: { headers: Record<string, string>; body: string } | undefined
const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } })
await client.connect(
  new StreamableHTTPClientTransport(new URL(RESOURCE), {
    fetch: async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : ''
      if (body.includes('"tools/call"'))
        template = { headers: Object.fromEntries(new Headers(init?.headers)), body }
      return mcp.fetch(new Request(input, init))
    },
  }),
)
await client.callTool({ name: 'echo', arguments: {} })
await client.close()
if (!template) throw new Error('did not capture tools/call')
const t = template

const keys = { ES256: await generateKeyPair('ES256'), RS256: await generateKeyPair('RS256') }
const jwks = {
  keys: [
    { ...(await exportJWK(keys.ES256.publicKey)), kid: 'es', alg: 'ES256' },
    { ...(await exportJWK(keys.RS256.publicKey)), kid: 'rs', alg: 'RS256' },
  ],
}
const localKeys = createLocalJWKSet(jwks)
type Variant = { name: string; token?: string; serve: (r: Request) => Promise<Response> }
const variants: Variant[] = [{ name: 'noauth', serve: (r) => mcp.fetch(r) }]
for (const alg of ['ES256', 'RS256'] as const) {
  const token = await new SignJWT({ scope: 'mcp', client_id: 'bench', sub: 'u' })
    .setProtectedHeader({ alg, kid: alg === 'ES256' ? 'es' : 'rs', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(RESOURCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(keys[alg].privateKey)
  const rs = createResourceServer({
    resource: RESOURCE,
    authorizationServers: [ISSUER],
    verifier: jwtVerifier({ issuer: ISSUER, keys: jwks, algorithms: [alg] }),
    policy: { required: ['mcp'], tools: { admin: ['mcp:admin'] } },
  })
  const gate = requireBearerAuth({
    verifier: {
      async verifyAccessToken(tok: string): Promise<AuthInfo> {
        const { payload } = await jwtVerify(tok, localKeys, {
          issuer: ISSUER,
          audience: RESOURCE,
          algorithms: [alg],
        })
        return {
          token: tok,
          clientId: String(payload['client_id']),
          scopes: String(payload['scope']).split(' '),
          expiresAt: payload.exp!,
          resource: new URL(String(payload.aud)),
        }
      },
    },
    requiredScopes: ['mcp'],
    expectedResource: new URL(RESOURCE),
  })
  const a = alg.toLowerCase()
  variants.push({
    name: `kit_${a}`,
    token,
    serve: (r) => rs.handle(r, (req, { authInfo }) => mcp.fetch(req, { authInfo })),
  })
  variants.push({
    name: `sdk_${a}`,
    token,
    serve: async (r) => {
      const auth = await gate(r)
      return auth instanceof Response ? auth : mcp.fetch(r, { authInfo: auth })
    },
  })
}

async function block(v: Variant, n: number): Promise<number> {
  const headers = { ...t.headers, ...(v.token ? { authorization: `Bearer ${v.token}` } : {}) }
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const res = await v.serve(new Request(RESOURCE, { method: 'POST', headers, body: t.body }))
    const text = await res.text()
    if (res.status !== 200 || !text.includes('"ok"'))
      throw new Error(`${v.name}: HTTP ${res.status} ${text.slice(0, 200)}`)
  }
  const c = process.cpuUsage(c0)
  return n / ((c.user + c.system) / 1e6)
}

for (const v of variants) await block(v, 200)
const ratios: Record<string, number[]> = { es_noauth: [], es_sdk: [], rs_noauth: [], rs_sdk: [] }
const per: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]))
for (let round = 0; round < ROUNDS; round++) {
  const got: Record<string, number> = {}
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + round) % variants.length]!
    got[v.name] = await block(v, BLOCK)
    per[v.name]!.push(got[v.name]!)
  }
  ratios['es_noauth']!.push(got['kit_es256']! / got['noauth']!)
  ratios['es_sdk']!.push(got['kit_es256']! / got['sdk_es256']!)
  ratios['rs_noauth']!.push(got['kit_rs256']! / got['noauth']!)
  ratios['rs_sdk']!.push(got['kit_rs256']! / got['sdk_rs256']!)
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`in-process: ${BLOCK} tools/call per block, ${ROUNDS} rounds; requests per CPU-second (median):`)
for (const [n, xs] of Object.entries(per)) console.log(`  ${n.padEnd(10)} ${median(xs).toFixed(0)}`)
for (const [k, xs] of Object.entries(ratios))
  console.log(`  ratio ${k.padEnd(10)} ${median(xs).toFixed(3)}  (${xs.map((x) => x.toFixed(2)).join(', ')})`)
const r3 = (x: number) => Math.round(x * 1000) / 1000
console.log(
  JSON.stringify({
    es256: { ratio_vs_noauth: r3(median(ratios['es_noauth']!)), ratio_vs_sdk: r3(median(ratios['es_sdk']!)) },
    rs256: { ratio_vs_noauth: r3(median(ratios['rs_noauth']!)), ratio_vs_sdk: r3(median(ratios['rs_sdk']!)) },
  }),
)
