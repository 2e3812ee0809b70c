import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { MemoryStore, storeKey } from '../../client/index.ts'
import { capture, seededStore } from './fixtures.test-helper.ts'
import { run } from './logout.ts'

async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}/mcp`
}

describe('mcp-oauth logout', () => {
  it('not signed in: says so, exit 0', async () => {
    const { io, out } = capture()
    assert.equal(await run(['https://a.example.com/mcp'], io, { store: new MemoryStore() }), 0)
    assert.match(out.stderr, /Not signed in to https:\/\/a\.example\.com\/mcp; nothing to do/)
  })

  it('server unreachable: the local copy is deleted, the output says the tokens were NOT revoked, exit 1', async () => {
    const url = await closedPortUrl()
    const store = await seededStore(url)
    const { io, out } = capture()
    assert.equal(await run([url, '--json'], io, { store }), 1)
    const o = JSON.parse(out.stdout)
    assert.equal(o.signed_in, true)
    assert.equal(o.revoked, false)
    assert.equal(typeof o.error, 'string')
    assert.match(out.stderr, /could not revoke the tokens/)
    assert.match(out.stderr, /next: /)
    assert.equal(await store.get(storeKey.current(url)), undefined)
    assert.doesNotMatch(out.stdout + out.stderr, /SECRET/)
  })

  it('--all with an empty store: nothing to do; a URL with --all is a usage error', async () => {
    const { io, out } = capture()
    assert.equal(await run(['--all'], io, { store: new MemoryStore() }), 0)
    assert.match(out.stderr, /No sessions stored/)
    const bad = capture()
    assert.equal(await run(['--all', 'https://a.example.com/mcp'], bad.io, { store: new MemoryStore() }), 2)
  })
})
