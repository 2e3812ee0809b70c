/**
 * A local MCP server on stdio built with the official SDK v1 (McpServer + StdioServerTransport), the kind
 * `mcp-oauth serve --stdio -- <command>` puts behind the gateway. Tools:
 * - echo {value}: the arguments back;
 * - whoami: the identity the gateway put in `_meta` (`io.github.mcp-oauth-toolkit/identity`), and the pid;
 * - slow {steps}: one progress notification per step, each after the client's next `ping`-free tick; waits
 *   until cancelled when steps is 0 (answers "cancelled" to nobody, as the spec says);
 * - big: a 5 MB text result (one stdout line);
 * - announce: a logging notification and tools/list_changed, without a related request;
 * - junk: writes a line that is not JSON-RPC on stdout, then answers;
 * - env {name}: one environment variable (null when unset);
 * - roots: asks the client for its roots (a server→client request) and answers them;
 * - admin_op: needs scope `admin` at the gateway (step-up).
 * It writes "stdio-server ready" to stderr at start.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { z } from 'zod'

export const BIG_SIZE = 5 * 1024 * 1024
const IDENTITY = 'io.github.mcp-oauth-toolkit/identity'

const server = new McpServer(
  { name: 'stdio-test', version: '1.0.0' },
  { capabilities: { logging: {}, tools: { listChanged: true } } },
)
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })

server.registerTool('echo', { description: 'echo', inputSchema: { value: z.string() } }, async (args) =>
  text(JSON.stringify(args)),
)
server.registerTool('whoami', { description: 'the gateway identity' }, async (extra) =>
  text(JSON.stringify({ identity: extra._meta?.[IDENTITY] ?? null, pid: process.pid })),
)
server.registerTool(
  'slow',
  { description: 'progress, then done', inputSchema: { steps: z.number(), tag: z.string() } },
  async ({ steps, tag }, extra) => {
    const token = extra._meta?.progressToken
    process.stderr.write(`stdio-server started ${tag}\n`)
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined)
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps, message: tag },
        })
      await new Promise((r) => setTimeout(r, 5))
    }
    if (steps === 0) {
      // Runs until the request is cancelled; says so on stderr, where the test's log sees it.
      await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve()))
      process.stderr.write(`stdio-server cancelled ${tag}\n`)
    }
    return text(`${tag} done`)
  },
)
server.registerTool(
  'env',
  { description: 'one variable', inputSchema: { name: z.string() } },
  async ({ name }) => text(JSON.stringify(process.env[name] ?? null)),
)
server.registerTool('big', { description: '5 MB of text' }, async () => text('x'.repeat(BIG_SIZE)))
server.registerTool('announce', { description: 'server notifications' }, async () => {
  await server.sendLoggingMessage({ level: 'info', data: 'announced' })
  server.sendToolListChanged()
  return text('announced')
})
server.registerTool('junk', { description: 'junk on stdout' }, async () => {
  process.stdout.write('this is not JSON-RPC\n')
  return text('after junk')
})
server.registerTool('roots', { description: 'asks the client for its roots' }, async () =>
  text(JSON.stringify((await server.server.listRoots()).roots)),
)
server.registerTool('admin_op', { description: 'needs admin' }, async () => text('admin ok'))

await server.connect(new StdioServerTransport())
process.stderr.write('stdio-server ready\n')
