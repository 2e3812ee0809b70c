/**
 * The published shape, as a host meets it: `npm pack` (prepack builds dist/), the tarball installed into an empty
 * project, its subpath exports imported from there (Node does not strip types under node_modules, so only the
 * compiled JavaScript can load), and the command `mcp-oauth config claude-desktop` prints run as Claude Desktop
 * runs it, over stdio against a protected server: sign-in in a real browser, tools listed and called.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { useBridgeHost } from '../support/bridge-host.ts'
import { chromiumAvailable, need, olderNodeOnPath } from '../support/environment.ts'
import { npmEnv, type PackedPackage, packAndInstall } from '../support/packed-package.ts'
import { type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { personAtBrowser } from '../support/sign-in.ts'
import { spawnServe } from './authorization-server-helpers.ts'

const run = promisify(execFile)
const host = useBridgeHost()
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-package-'))
let packed: PackedPackage
let server: ProtectedMcp
before(async () => {
  ;[packed, server] = await Promise.all([packAndInstall(dir), startProtectedMcp('modern')])
})
after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the packed package', () => {
  it('installs from the tarball without the TypeScript sources; subpath exports and the bin work', async () => {
    const installed = join(packed.project, 'node_modules/mcp-oauth-toolkit')
    assert.ok(existsSync(join(installed, 'dist/cli/main.js')), 'prepack built dist/')
    assert.ok(existsSync(join(installed, 'dist/cli-bundle/main.js')), 'prepack bundled the bin')
    assert.equal(existsSync(join(installed, 'src')), false, 'no sources shipped')
    for (const sub of ['shared', 'client', 'browser', 'server', 'authorization-server']) {
      // Resolved from the host project, through the package's exports map.
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `console.log(Object.keys(await import('mcp-oauth-toolkit/${sub}')).length)`,
        ],
        { cwd: packed.project },
      )
      assert.ok(Number(stdout) > 5, `${sub} exports ${stdout}`)
    }
    const { stdout } = await run(join(packed.project, 'node_modules/.bin/mcp-oauth'), ['--version'], {
      env: npmEnv(),
    })
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+/)
    // The config schema ships (serve reads it beside dist/) and is exported for editors.
    const schema = join(installed, 'schema/mcp-oauth.schema.json')
    assert.ok(existsSync(schema), 'schema/ is published')
    const config = join(dir, 'serve.json')
    writeFileSync(config, JSON.stringify({ resources: [{ uri: 'https://mcp.example.com/mcp' }] }))
    const printed = await run(
      join(packed.project, 'node_modules/.bin/mcp-oauth'),
      ['serve', '--config', config, '--print-config'],
      { env: npmEnv() },
    )
    assert.equal(JSON.parse(printed.stdout).resources[0].uri, 'https://mcp.example.com/mcp')
    // serve itself from the bundle: oidc-provider, node:sqlite and the password hashing load beside it.
    const served = await spawnServe(
      [
        '--port',
        '0',
        '--store',
        `sqlite:${join(dir, 'serve.db')}`,
        '--quiet',
        '--user',
        'bob:a long password',
      ],
      {},
      join(installed, 'bin/mcp-oauth.js'),
    )
    try {
      const metadata = await fetch(new URL('/.well-known/oauth-authorization-server', served.ready.issuer))
      assert.equal(((await metadata.json()) as { issuer: string }).issuer, served.ready.issuer)
      assert.equal((await fetch(served.ready.mcp, { method: 'POST' })).status, 401)
    } finally {
      await served.stop()
    }
  })

  it('runs the command `config claude-desktop` prints, as the host does: sign-in, tools listed and called', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const store = join(dir, 'store')
    mkdirSync(store)
    const printed = await run(
      join(packed.project, 'node_modules/.bin/mcp-oauth'),
      ['config', 'claude-desktop', server.mcp, '--store', 'file', '--store-dir', store],
      { env: npmEnv() },
    )
    const entry = Object.values(
      (JSON.parse(printed.stdout) as { mcpServers: Record<string, { command: string; args: string[] }> })
        .mcpServers,
    )[0]!
    assert.equal(entry.command, 'npx')
    assert.deepEqual(entry.args.slice(0, 4), ['-y', 'mcp-oauth-toolkit', 'connect', server.mcp])
    // The snippet unchanged, started in the host project where the tarball is installed: npx resolves the name
    // to that install. An empty npm cache and offline mode mean nothing else (no registry, no earlier npx
    // download) can answer for the name; this Node first on PATH runs the installed bin.
    const emptyCache = join(dir, 'npx-cache')
    mkdirSync(emptyCache)
    const transport = new StdioClientTransport({
      command: entry.command,
      args: entry.args,
      cwd: packed.project,
      env: npmEnv({ npm_config_cache: emptyCache, DISPLAY: ':99', XDG_CONFIG_HOME: store }),
      stderr: 'pipe',
    })
    const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
    const client = new Client({ name: 'claude-desktop', version: '1.0.0' })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'big', 'echo'])
      const result = await client.callTool({ name: 'echo', arguments: { value: 'from the tarball' } })
      assert.equal(
        (result as { content: { text: string }[] }).content[0]?.text,
        '{"value":"from the tarball"}',
      )
      assert.equal(person.signIns, 1, person.stderr)
    } finally {
      if (process.env['DEBUG_CONNECT']) console.error(person.stderr)
      person.stop()
      await client.close()
    }
  })

  it('on a Node.js without node:sqlite, the installed authorization server imports and SQLite says which Node it needs', (t) => {
    const old = olderNodeOnPath()
    if (!need(t, 'a Node.js older than engines.node on PATH', old !== undefined)) return
    // PostgreSQL storage and the rest must not need node:sqlite to load.
    const entry = join(packed.project, 'node_modules/mcp-oauth-toolkit/dist/authorization-server/index.js')
    const script = `const m = await import(${JSON.stringify(pathToFileURL(entry).href)});
      const sqlite = await import('node:sqlite').then(() => true, () => false);
      try { await m.createSqliteStorage(':memory:', { sealer: m.createSealer(m.generateStorageKey()) }); console.log(JSON.stringify({ opened: true, sqlite })) }
      catch (e) { console.log(JSON.stringify({ sqlite, name: e.name, code: e.code, message: e.message, hint: e.hint, postgres: typeof m.createPostgresStorage })) }`
    const out = execFileSync(old!.path, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
    const error = JSON.parse(out) as Record<string, string | boolean>
    // A Node between 22.13 and engines.node has node:sqlite: there the store simply opens.
    if (error['sqlite']) return assert.equal(error['opened'], true)
    assert.equal(error['name'], 'UnsupportedRuntimeError')
    assert.equal(error['code'], 'unsupported_runtime')
    assert.ok(String(error['message']).includes(`found Node.js ${old!.version}`), String(error['message']))
    assert.match(String(error['message']), /needs Node\.js >=\d+\.\d+/)
    assert.match(String(error['hint']), /install Node \d+\.\d+ or newer from https:\/\/nodejs\.org/)
    assert.equal(error['postgres'], 'function')
  })
})
