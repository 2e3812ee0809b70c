/**
 * The servers of `npm run bench:gateway`, in a child process: an SDK v2 MCP server with no auth (the upstream),
 * the same server with the kit in front ("direct": the same token check, no forwarding), and the gateway (the
 * kit, then forwarding to the upstream). Sends `{ ready: { direct, gateway } }` with URLs and tokens.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createGateway } from '../../src/cli/gateway/gateway.ts'
import { httpUpstream } from '../../src/cli/gateway/upstream.ts'
import { createResourceServer, jwtVerifier, nodeListener } from '../../src/server/index.ts'

const issuer = 'https://as.bench.example'
const { publicKey, privateKey } = await generateKeyPair('ES256')
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }

function build(): McpServer {
  const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' })
  server.registerTool('echo', { description: 'echo' }, async () => ({
    content: [{ type: 'text', text: 'ok' }],
  }))
  return server
}

async function listen(listener: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

async function token(audience: string): Promise<string> {
  return await new SignJWT({ scope: 'mcp', client_id: 'bench' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setSubject('bench-user')
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('2h')
    .setJti(crypto.randomUUID())
    .sign(privateKey)
}

const kit = (resource: string) =>
  createResourceServer({
    resource,
    authorizationServers: [issuer],
    scopesSupported: ['mcp'],
    verifier: jwtVerifier({ issuer, keys: jwks, requireAtJwtType: true }),
    policy: { required: ['mcp'] },
  })

const upstreamHandler = createMcpHandler(build)
const upstream = await listen(nodeListener((r) => upstreamHandler.fetch(r)))

// The direct variant: the kit checks the token, the SDK answers in the same process.
let direct: ReturnType<typeof kit> | undefined
const directHandler = createMcpHandler(build)
const directServer = await listen(
  nodeListener((r) => direct!.handle(r, (f, { authInfo }) => directHandler.fetch(f, { authInfo }))),
)
direct = kit(`${directServer.origin}/mcp`)

let gateway: ((r: Request) => Promise<Response>) | undefined
const gatewayServer = await listen(nodeListener((r) => gateway!(r)))
gateway = createGateway({
  upstream: httpUpstream(`${upstream.origin}/mcp`),
  resourceServer: kit(`${gatewayServer.origin}/mcp`),
})

process.on('message', (m) => {
  const msg = m as { cpu?: number }
  if (msg.cpu !== undefined) {
    const u = process.cpuUsage()
    process.send!({ cpu: msg.cpu, micros: u.user + u.system })
  }
})
process.send!({
  ready: {
    direct: { url: `${directServer.origin}/mcp`, token: await token(`${directServer.origin}/mcp`) },
    gateway: { url: `${gatewayServer.origin}/mcp`, token: await token(`${gatewayServer.origin}/mcp`) },
  },
})
