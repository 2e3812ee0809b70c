/**
 * The keychain fallback for real on this kind of machine: a Secret Service that is missing, or one that hangs
 * (a D-Bus socket that accepts and never answers), is detected by the out-of-process probe, and `openStore`
 * with `auto` picks the encrypted file store in the per-user config directory, saying so once.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { probeKeychain } from '../../src/client/stores/keychain.ts'
import { openStore } from '../../src/client/stores/open-store.ts'

const SELF = fileURLToPath(import.meta.url)
const TOKEN = `eyJhbGciOiJFUzI1NiJ9.${'A'.repeat(60)}`

if (process.env['FALLBACK_WORKER']) {
  // A fresh process choosing its store like the CLI does: no explicit directory, default probe.
  const store = await openStore({ kind: 'auto' })
  const key = 'session https://mcp.example.test/mcp https://as.example.test client'
  const had = await store.get(key)
  await store.set(key, { access_token: TOKEN, refresh_token: `${TOKEN}.r` }, had?.generation ?? 0)
  process.stdout.write(`${store.kind}\n`)
} else {
  let root: string
  let hangingBus: net.Server
  let busPath: string
  const sockets: net.Socket[] = []

  before(async () => {
    root = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-fallback-'))
    busPath = join(root, 'bus.sock')
    hangingBus = net.createServer((s) => {
      sockets.push(s)
      s.on('data', () => {})
    })
    await new Promise<void>((r) => hangingBus.listen(busPath, r))
  })
  after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => hangingBus.close(r))
    await fs.rm(root, { recursive: true, force: true })
  })

  function runWorker(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [SELF], {
        env: { ...process.env, FALLBACK_WORKER: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c) => {
        stdout += c
      })
      child.stderr.on('data', (c) => {
        stderr += c
      })
      child.once('exit', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(stderr))))
    })
  }

  describe('keychain fallback on a machine without a usable keychain', () => {
    it('a hanging Secret Service is given up on after a second, without blocking the caller', async (t) => {
      const started = Date.now()
      let ticks = 0
      const ticker = setInterval(() => ticks++, 50)
      const result = await probeKeychain({
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${busPath}` },
      })
      clearInterval(ticker)
      assert.equal(result.usable, false)
      assert.match((result as { reason: string }).reason, /did not answer within 1000 ms/)
      assert.ok(ticks > 0, 'the event loop kept running during the probe')
      t.diagnostic(`hanging Secret Service detected in ${Date.now() - started} ms`)
    })

    it('a missing Secret Service is reported with its reason', async (t) => {
      const started = Date.now()
      const env = { ...process.env }
      delete env['DBUS_SESSION_BUS_ADDRESS']
      const result = await probeKeychain({ env })
      t.diagnostic(`probe answered in ${Date.now() - started} ms: ${JSON.stringify(result)}`)
      if (result.usable) return t.skip('this machine has a working keychain')
      assert.ok(result.reason.length > 0)
    })

    for (const [name, bus] of [
      ['missing', undefined],
      ['hanging', 'hanging'],
    ] as const) {
      it(`auto picks the file store (Secret Service ${name}), says so once, 0600 files, no readable token`, async (t) => {
        const config = join(root, `config-${name}`)
        const env: Record<string, string> = { XDG_CONFIG_HOME: config }
        if (bus) env['DBUS_SESSION_BUS_ADDRESS'] = `unix:path=${busPath}`
        else env['DBUS_SESSION_BUS_ADDRESS'] = ''
        const first = await runWorker(env)
        const probeSaysUsable = first.stdout.trim() === 'keychain'
        if (probeSaysUsable) return t.skip('this machine has a working keychain')
        assert.equal(first.stdout.trim(), 'file')
        const second = await runWorker(env)
        assert.equal(second.stdout.trim(), 'file')
        const said = (first.stderr + second.stderr)
          .split('\n')
          .filter((l) => l.includes('no usable OS keychain'))
        assert.equal(said.length, 1, `said: ${first.stderr}${second.stderr}`)
        assert.equal(
          (first.stderr + second.stderr).split('\n').filter(Boolean).length,
          1,
          'nothing else was printed',
        )
        const dir = join(config, 'mcp-oauth')
        const files: string[] = []
        for (const sub of ['', 'entries', 'locks']) {
          for (const f of await fs.readdir(join(dir, sub), { withFileTypes: true })) {
            if (f.isFile()) files.push(join(dir, sub, f.name))
          }
        }
        assert.ok(files.some((f) => f.endsWith('store.key')))
        for (const f of files) {
          assert.equal((await fs.stat(f)).mode & 0o777, 0o600, f)
          assert.ok(
            !(await fs.readFile(f, 'latin1')).includes(TOKEN.slice(0, 30)),
            `${f} has a readable token`,
          )
        }
      })
    }
  })
}
