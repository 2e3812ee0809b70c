/**
 * `mcp-oauth connect` re-executes itself once with V8 flags for a small, steady pipe (bin/mcp-oauth.js:
 * a young generation kept at its first size, collection and compilation on the main thread; connect then turns
 * TurboFan off and sizes the heap for memory itself), keeping its PID and stdio, and still bridges; a person's own V8 tuning is kept, a platform where execve
 * throws (Windows) starts as is, and other commands are not re-executed. Read from the real
 * process's /proc/<pid>/cmdline, which execve replaces. The memory this saves is measured in bench:proxy.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const LEAN = [
  '--max-semi-space-size=1',
  '--semi-space-growth-factor=1',
  '--single-threaded-gc',
  '--no-concurrent-recompilation',
  '--v8-pool-size=1',
]

function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
}

/** A 2025-11-25 server without auth: answers `initialize`, refuses `server/discover`, accepts the rest. */
function plainServer() {
  return createServer(async (req, res) => {
    let body = ''
    for await (const c of req) body += c
    if (req.method !== 'POST') return void res.writeHead(req.method === 'DELETE' ? 200 : 405).end()
    const m = JSON.parse(body) as { id?: number; method?: string }
    const json = (o: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(o))
    if (m.method === 'server/discover')
      return json({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } })
    if (m.method === 'initialize') {
      const result = {
        protocolVersion: '2025-11-25',
        capabilities: {},
        serverInfo: { name: 'lean', version: '1' },
      }
      return json({ jsonrpc: '2.0', id: m.id, result }, { 'mcp-session-id': 'lean' })
    }
    res.writeHead(202).end()
  })
}

describe('connect runs with lean V8 flags', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const server = plainServer()
  let url = ''
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  /** Start `connect`, have it answer `initialize` (so it is past start-up), and return its command line. */
  async function bridgeCmdline(
    env: NodeJS.ProcessEnv,
    execArgv: string[] = [],
    afterAnswer: () => Promise<unknown> = async () => {},
  ) {
    const child = spawn(process.execPath, [...execArgv, BIN, 'connect', url, '--store', 'memory'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, MCP_OAUTH_NO_INTERACTION: '1', ...env },
    })
    try {
      let stdout = ''
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
      })
      const params = {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'host', version: '1' },
      }
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params })}\n`)
      const deadline = Date.now() + 15_000
      while (!stdout.includes('"id":1')) {
        // A V8 fatal error is a signal, not an exit code.
        if (child.exitCode !== null || child.signalCode !== null)
          assert.fail(`connect ended early (${child.exitCode ?? child.signalCode})`)
        if (Date.now() > deadline) assert.fail('connect did not answer initialize within 15 s')
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.match(stdout, /"protocolVersion":"2025-11-25"/, 'the re-executed bridge answers')
      await afterAnswer()
      return cmdlineOf(child.pid!)
    } finally {
      child.kill()
    }
  }

  it('the same process re-executes with the flags before its arguments, and bridges', async () => {
    const cmdline = await bridgeCmdline({ NODE_OPTIONS: '' })
    assert.deepEqual(cmdline.slice(1, 1 + LEAN.length), LEAN)
    assert.deepEqual(cmdline.slice(-4), ['connect', url, '--store', 'memory'])
    assert.equal(cmdline.filter((a) => a === BIN).length, 1, 'the bin once, not re-executed twice')
  })

  it("a person's own V8 tuning is kept and nothing is added", async () => {
    const viaOptions = await bridgeCmdline({ NODE_OPTIONS: '--max-semi-space-size=8' })
    assert.equal(viaOptions.includes('--single-threaded-gc'), false)
    const viaFlags = await bridgeCmdline({ NODE_OPTIONS: '' }, ['--max-opt=3'])
    assert.equal(viaFlags.includes('--single-threaded-gc'), false)
    assert.ok(viaFlags.includes('--max-opt=3'))
    // V8 reads `--max_semi_space_size` as the same flag.
    const underscored = await bridgeCmdline({ NODE_OPTIONS: '--max_semi_space_size=8' })
    assert.equal(underscored.includes('--single-threaded-gc'), false)
    // With a heap size and both generation sizes V8 aborts at start: a person's heap size gets nothing added.
    const heap = await bridgeCmdline({ NODE_OPTIONS: '--max-heap-size=512 --max-old-space-size=256' })
    assert.equal(heap.includes('--max-semi-space-size=1'), false)
    const told = await bridgeCmdline({ NODE_OPTIONS: '', MCP_OAUTH_NO_REEXEC: '1' })
    assert.equal(told.includes('--single-threaded-gc'), false, 'MCP_OAUTH_NO_REEXEC=1 turns it off')
  })

  it("once it has answered, connect turns TurboFan off and sizes the heap for memory; not under a person's tuning", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-lean-'))
    const preload = join(dir, 'flags.mjs')
    const log = join(dir, 'flags.log')
    // Records the flags the process sets at run time (the re-executed image's only: the log is read after).
    writeFileSync(
      preload,
      [
        "import { appendFileSync } from 'node:fs'",
        "const v8 = process.getBuiltinModule('node:v8')",
        'const set = v8.setFlagsFromString',
        `v8.setFlagsFromString = (f) => { appendFileSync(${JSON.stringify(log)}, f + '\\n'); return set(f) }`,
      ].join('\n'),
    )
    const flags = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [])
    try {
      const importing = `--import ${pathToFileURL(preload).href}`
      await bridgeCmdline({ NODE_OPTIONS: importing }, [], async () => {
        for (let i = 0; i < 250 && !flags().includes('--optimize-for-size'); i++)
          await new Promise((r) => setTimeout(r, 20))
      })
      assert.deepEqual(flags(), ['--no-turbofan', '--optimize-for-size'])
      rmSync(log, { force: true })
      await bridgeCmdline(
        { NODE_OPTIONS: `${importing} --max-semi-space-size=8` },
        [],
        () => new Promise((r) => setTimeout(r, 300)),
      )
      assert.deepEqual(flags(), [], "nothing set over a person's own tuning")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('where execve throws (Windows), the bridge starts as is instead of failing', async () => {
    // Node defines process.execve on every platform and throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM off POSIX;
    // a preload reporting win32 stands in for Windows here.
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-lean-'))
    const preload = join(dir, 'win32.mjs')
    writeFileSync(preload, "Object.defineProperty(process, 'platform', { value: 'win32' })\n")
    try {
      // Node's win32 temporary folder comes from TEMP: keep the compile cache out of the working directory.
      const cmdline = await bridgeCmdline({ NODE_OPTIONS: '', TEMP: dir, TMP: dir }, [
        '--import',
        pathToFileURL(preload).href,
      ])
      assert.equal(cmdline.includes('--single-threaded-gc'), false)
      // And where execve is there but throws when called (a platform or permission refusing it).
      const throwing = join(dir, 'throwing.mjs')
      writeFileSync(
        throwing,
        "process.execve = () => { throw Object.assign(new Error('refused'), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' }) }\n",
      )
      const refused = await bridgeCmdline({ NODE_OPTIONS: '' }, ['--import', pathToFileURL(throwing).href])
      assert.equal(refused.includes('--single-threaded-gc'), false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('other commands are not re-executed', async () => {
    const child = spawn(process.execPath, [BIN, 'status', '--store', 'memory'], { stdio: 'pipe' })
    const exited = new Promise((r) => child.once('exit', r))
    // status ends at once: its command line is read while it runs, or not at all once it has exited.
    let cmdline: string[] | undefined
    for (let i = 0; i < 500 && child.exitCode === null; i++) {
      try {
        cmdline = cmdlineOf(child.pid!)
      } catch {}
      await new Promise((r) => setTimeout(r, 2))
    }
    await exited
    assert.ok(cmdline, 'read while running')
    assert.equal(cmdline.includes('--single-threaded-gc'), false)
  })
})
