/**
 * The protected MCP server of bench/proxy, in its own process so that neither the direct client nor the
 * bridges share an event loop with it. Prints one JSON line {"mcp","issuer"} once ready; stops on SIGTERM.
 */
import { startProtectedMcp } from '../../test/support/protected-mcp.ts'

const server = await startProtectedMcp('legacy')
process.stdout.write(`${JSON.stringify({ mcp: server.mcp, issuer: server.issuer })}\n`)
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
