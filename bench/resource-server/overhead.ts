/**
 * `node bench/resource-server/overhead.ts`: the kit's own cost per request, in process, without HTTP: the same
 * `tools/call` Request handled with and without `rs.handle` (cached ES256 token, per-tool policy, body handed
 * over by the adapter side channel as the node adapter does), interleaved in blocks, median of blocks.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { attachBodyText } from '../../src/server/body.ts'
import { createResourceServer, jwtVerifier } from '../../src/server/index.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const ISSUER = 'https://as.example.com'
const { privateKey, publicKey } = await generateKeyPair('ES256')
const rs = createResourceServer({
  resource: RESOURCE,
  authorizationServers: [ISSUER],
  verifier: jwtVerifier({ issuer: ISSUER, keys: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k' }] } }),
  policy: { required: ['mcp'], tools: { admin: ['mcp:admin'] } },
})
const token = await new SignJWT({ scope: 'mcp', client_id: 'c', sub: 'u' })
  .setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' })
  .setIssuer(ISSUER)
  .setAudience(RESOURCE)
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey)
const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
})
const request = () =>
  attachBodyText(
    new Request(RESOURCE, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'echo',
      },
      body,
    }),
    body,
  )
const handler = async (r: Request) => {
  // Stand-in for the MCP handler: read the body and answer.
  await r.text()
  return new Response('{"jsonrpc":"2.0","id":1,"result":{}}')
}
const BLOCK = 2000
const blocks: { kit: number; bare: number }[] = []
for (let b = 0; b < 12; b++) {
  let t = performance.now()
  for (let i = 0; i < BLOCK; i++) await rs.handle(request(), (r) => handler(r))
  const kit = (performance.now() - t) / BLOCK
  t = performance.now()
  for (let i = 0; i < BLOCK; i++) await handler(request())
  const bare = (performance.now() - t) / BLOCK
  if (b >= 2) blocks.push({ kit, bare })
}
const diffs = blocks.map((x) => (x.kit - x.bare) * 1000).sort((a, b) => a - b)
const median = diffs[Math.floor(diffs.length / 2)]!
console.log(
  `kit overhead per request: median ${median.toFixed(1)} µs over ${blocks.length} blocks of ${BLOCK}`,
)
console.log(JSON.stringify({ overhead_us: Math.round(median * 10) / 10 }))
