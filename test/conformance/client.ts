/**
 * An MCP client app written only against mcp-oauth's public API, run by the official conformance suite as
 * `node test/conformance/client.ts <server-url>`. Like any app it reads its configuration (here the credentials
 * a scenario hands out in MCP_CONFORMANCE_CONTEXT); it never looks at which scenario is running.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import {
  type Authorizer,
  authorizedFetch,
  isMcpOAuthError,
  MemoryStore,
  type SessionOptions,
} from 'mcp-oauth-toolkit/client'

/** This app's Client ID Metadata Document URL (an app publishes one at a stable https address). */
const CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json'

/** A headless "browser": follows the authorization URL to the redirect and hands back the callback URL. */
const headless: Authorizer = {
  redirectUri: 'http://127.0.0.1:3000/callback',
  async authorize(url) {
    const response = await fetch(url, { redirect: 'manual' })
    const location = response.headers.get('location')
    if (!location) throw new Error(`authorization endpoint answered ${response.status} without a redirect`)
    return new URL(location, url)
  },
}

function configFromEnvironment(): Partial<SessionOptions> {
  const raw = process.env['MCP_CONFORMANCE_CONTEXT']
  const c = raw ? (JSON.parse(raw) as Record<string, string | undefined>) : {}
  const options: Partial<SessionOptions> = {}
  if (c['client_id']) {
    options.identity = {
      client_name: 'mcp-oauth conformance client',
      clientMetadataUrl: CLIENT_METADATA_URL,
      preRegistered: {
        client_id: c['client_id'],
        ...(c['client_secret'] ? { client_secret: c['client_secret'] } : {}),
        ...(c['private_key_pem'] ? { private_key_pem: c['private_key_pem'] } : {}),
        ...(c['signing_algorithm'] ? { signing_algorithm: c['signing_algorithm'] } : {}),
        ...(c['issuer'] ? { issuer: c['issuer'] } : {}),
      },
    }
  }
  if (c['valid_jwt']) options.workloadIdentity = { assertion: c['valid_jwt'] }
  if (c['idp_token_endpoint'] && c['idp_id_token'] && c['idp_client_id']) {
    options.enterprise = {
      tokenEndpoint: c['idp_token_endpoint'],
      clientId: c['idp_client_id'],
      idToken: c['idp_id_token'],
      ...(c['idp_issuer'] ? { issuer: c['idp_issuer'] } : {}),
    }
  }
  return options
}

async function main(serverUrl: string): Promise<void> {
  const fetch = authorizedFetch({
    serverUrl,
    store: new MemoryStore(),
    authorizer: headless,
    identity: { client_name: 'mcp-oauth conformance client', clientMetadataUrl: CLIENT_METADATA_URL },
    ...configFromEnvironment(),
    log: (m) => process.stderr.write(`[mcp-oauth] ${m}\n`),
  })
  const client = new Client(
    { name: 'mcp-oauth-conformance', version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode: 'auto' } },
  )
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { fetch })
  await client.connect(transport)
  const { tools } = await client.listTools()
  for (const tool of tools.slice(0, 1)) await client.callTool({ name: tool.name, arguments: {} })
  await client.close()
}

const url = process.argv.at(-1)
if (!url?.startsWith('http')) {
  process.stderr.write('usage: node test/conformance/client.ts <server-url>\n')
  process.exit(2)
}
main(url).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(
      `conformance client failed: ${isMcpOAuthError(e) ? `${e.code}: ${e.message} (${e.hint})` : String(e)}\n`,
    )
    process.exit(1)
  },
)
