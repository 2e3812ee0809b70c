/**
 * One instance of a web app that signs people in to an MCP server across requests, run as its own `node`
 * process: `begin SERVER STORE_DIR REDIRECT_URI [TTL_MS]` prints the authorization URL and state;
 * `complete STORE_DIR CALLBACK_URL` finishes the sign-in and calls the server's `whoami` tool. One JSON line on
 * stdout either way (`{"error": code}` on a typed failure).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import {
  authorizedFetch,
  beginAuthorization,
  completeAuthorization,
  FileStore,
  isMcpOAuthError,
} from '../../src/client/index.ts'

const [command, ...args] = process.argv.slice(2)
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)

try {
  if (command === 'begin') {
    const [serverUrl, dir, redirectUri, ttl] = args as [string, string, string, string?]
    const result = await beginAuthorization({
      serverUrl,
      store: new FileStore({ dir, log: () => {} }),
      redirectUri,
      ...(ttl ? { ttlMs: Number(ttl) } : {}),
    })
    print(result.kind === 'redirect' ? { url: result.url.href, state: result.state } : { signed_in: true })
  } else if (command === 'complete') {
    const [dir, callbackUrl] = args as [string, string]
    const session = await completeAuthorization({ store: new FileStore({ dir, log: () => {} }) }, callbackUrl)
    const client = new Client({ name: 'web-app', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(session.server), { fetch: authorizedFetch(session) }),
    )
    const result = (await client.callTool({ name: 'whoami', arguments: {} })) as {
      content: { text: string }[]
    }
    await client.close()
    print({ whoami: JSON.parse(result.content[0]!.text) })
  } else {
    throw new Error(`unknown command ${command}`)
  }
} catch (e) {
  if (!isMcpOAuthError(e)) throw e
  print({ error: e.code, message: e.message })
}
