/**
 * Benchmark child process: one SDK v2 MCP server (createMcpHandler, one `echo` tool) served five ways on
 * loopback: without auth, behind mcp-oauth-toolkit/server, and behind the SDK's `requireBearerAuth` with a jose
 * verifier, each for ES256 and RS256 tokens checked against a local JWKS endpoint serving the public keys the
 * parent passes in BENCH_JWKS (the parent mints the tokens). Every variant reads and parses the body the same
 * way (the node adapter's text, parsed once) and hands the result to the SDK as `parsedBody`.
 * Reports each variant's URL (its token audience) over IPC.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AuthInfo, createMcpHandler, McpServer, requireBearerAuth } from '@modelcontextprotocol/server'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { nodeListener } from '../../src/server/adapters/node-http.ts'
import { attachedBodyText, parseJson } from '../../src/server/body.ts'
import { createResourceServer, jwtVerifier } from '../../src/server/index.ts'

const ISSUER = 'http://127.0.0.1:1/bench-issuer'

function mcpServer(): McpServer {
  const s = new McpServer({ name: 'bench', version: '1.0.0' })
  s.registerTool('echo', { description: 'echo' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }))
  return s
}

async function listen(handler: (r: Request) => Promise<Response>): Promise<string> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, nodeListener(handler))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** The body as the kit sees it: the text the node adapter read, parsed once. */
async function parsedBody(r: Request): Promise<unknown> {
  return parseJson(attachedBodyText(r) ?? (await r.text()))
}

const jwks = JSON.parse(process.env['BENCH_JWKS'] ?? '{"keys":[]}') as { keys: Record<string, unknown>[] }
const jwksUrl = `${await listen(async () => Response.json(jwks))}/jwks`

// One handler per variant so no variant warms another's state.
const noauthHandler = createMcpHandler(() => mcpServer())
const noauth = await listen(async (r) => noauthHandler.fetch(r, { parsedBody: await parsedBody(r) }))

const out: Record<string, { url: string; alg?: string }> = { noauth: { url: `${noauth}/mcp` } }
for (const alg of ['ES256', 'RS256'] as const) {
  // Each variant gets its own port, so the token audience names that exact resource.
  const kitHandler = createMcpHandler(() => mcpServer())
  let kit: ReturnType<typeof createResourceServer> | undefined
  const kitBase = await listen((r) =>
    kit!.handle(r, (req, { authInfo, parsedBody }) => kitHandler.fetch(req, { authInfo, parsedBody })),
  )
  kit = createResourceServer({
    resource: `${kitBase}/mcp`,
    authorizationServers: [ISSUER],
    scopesSupported: ['mcp'],
    verifier: jwtVerifier({ issuer: ISSUER, jwksUri: jwksUrl, algorithms: [alg] }),
    policy: { required: ['mcp'], tools: { admin: ['mcp:admin'] } },
  })

  const sdkHandler = createMcpHandler(() => mcpServer())
  let gate: ((r: Request) => Promise<AuthInfo | Response>) | undefined
  const sdkBase = await listen(async (r) => {
    const auth = await gate!(r)
    if (auth instanceof Response) return auth
    return sdkHandler.fetch(r, { authInfo: auth, parsedBody: await parsedBody(r) })
  })
  const remote = createRemoteJWKSet(new URL(jwksUrl))
  const sdkResource = `${sdkBase}/mcp`
  gate = requireBearerAuth({
    verifier: {
      async verifyAccessToken(token: string): Promise<AuthInfo> {
        const { payload } = await jwtVerify(token, remote, {
          issuer: ISSUER,
          audience: sdkResource,
          algorithms: [alg],
        })
        return {
          token,
          clientId: String(payload['client_id'] ?? ''),
          scopes: String(payload['scope'] ?? '')
            .split(' ')
            .filter(Boolean),
          expiresAt: payload.exp!,
          resource: new URL(String(payload.aud)),
        }
      },
    },
    requiredScopes: ['mcp'],
    expectedResource: new URL(sdkResource),
    resourceMetadataUrl: `${sdkBase}/.well-known/oauth-protected-resource/mcp`,
  })

  const name = alg.toLowerCase()
  out[`kit_${name}`] = { url: `${kitBase}/mcp`, alg }
  out[`sdk_${name}`] = { url: sdkResource, alg }
}

process.send?.({ ready: out })
// The parent asks for this process's CPU time around each sample, to derive requests per server CPU-second.
// Before a sample the parent also asks for a full collection, so no sample pays for the previous one's garbage.
process.on('message', (m) => {
  const msg = m as { cpu?: number; gc?: boolean }
  if (msg.cpu !== undefined) {
    if (msg.gc) (globalThis as { gc?: () => void }).gc?.()
    const u = process.cpuUsage()
    process.send?.({ cpu: msg.cpu, micros: u.user + u.system })
  }
})
