import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { FileStore } from './file-store.ts'
import { KeychainStore, type KeyringModule, probeKeychain } from './keychain.ts'
import { openStore } from './open-store.ts'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-keychain-'))
  dirs.push(d)
  return d
}
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

/** An in-memory stand-in for @napi-rs/keyring that records the options it was given. */
function fakeKeyring(options: { failing?: boolean } = {}) {
  const items = new Map<string, string>()
  const seenOptions: unknown[] = []
  const k = (service: string, account: string) => `${service}\u0000${account}`
  const fail = () => {
    if (options.failing) throw new Error("Couldn't access platform storage: AccessDenied")
  }
  const keyring: KeyringModule = {
    AsyncEntry: class {
      readonly #key: string
      constructor(service: string, account: string, opts?: unknown) {
        this.#key = k(service, account)
        seenOptions.push(opts)
      }
      async getPassword() {
        fail()
        return items.get(this.#key) ?? null
      }
      async setPassword(p: string) {
        fail()
        items.set(this.#key, p)
      }
      async deletePassword() {
        fail()
        return items.delete(this.#key)
      }
    },
    async findCredentialsAsync(service: string) {
      fail()
      return [...items]
        .filter(([key]) => key.startsWith(`${service}\u0000`))
        .map(([key, password]) => ({ account: key.split('\u0000')[1]!, password }))
    },
  }
  return { keyring, items, seenOptions }
}

describe('KeychainStore (with a fake keyring)', () => {
  it('compares-and-swaps with generations kept in the item, and lists by prefix', async () => {
    const { keyring, items, seenOptions } = fakeKeyring()
    const store = new KeychainStore({ keyring, lockDir: await tempDir() })
    assert.deepEqual(await store.set('session a', { t: 1 }, 0), { ok: true, generation: 1 })
    assert.deepEqual(await store.set('session a', { t: 9 }, 0), {
      ok: false,
      current: { value: { t: 1 }, generation: 1 },
    })
    assert.deepEqual(await store.set('session a', { t: 2 }, 1), { ok: true, generation: 2 })
    assert.deepEqual(await store.get('session a'), { value: { t: 2 }, generation: 2 })
    await store.set('registration x', 1)
    assert.deepEqual(await store.list('session '), ['session a'])
    assert.equal(await store.delete('session a', 1), false)
    assert.equal(await store.delete('session a', 2), true)
    assert.equal(items.has('mcp-oauth\u0000session a'), false)
    // Pinned to the Secret Service on Linux: the kernel keyring would forget at logout.
    assert.deepEqual(seenOptions[0], { linux: { store: 'secret-service' } })
  })

  it('moves an unreadable item aside under a new name, with a warning', async () => {
    const { keyring, items } = fakeKeyring()
    const lines: string[] = []
    const store = new KeychainStore({ keyring, lockDir: await tempDir(), log: (l) => lines.push(l) })
    items.set('mcp-oauth\u0000session a', 'not json')
    assert.equal(await store.get('session a'), undefined)
    assert.ok([...items.keys()].some((key) => key.includes('session a corrupt-')))
    assert.equal(lines.length, 1)
    assert.deepEqual(await store.list('session'), [])
  })

  it('turns keychain failures into a typed error with a hint', async () => {
    const { keyring } = fakeKeyring({ failing: true })
    const store = new KeychainStore({ keyring, lockDir: await tempDir() })
    await assert.rejects(store.get('x'), (e) => isMcpOAuthError(e, 'keychain_failed'))
  })
})

describe('openStore', () => {
  it('auto picks the keychain when the probe says it works', async () => {
    const { keyring } = fakeKeyring()
    const store = await openStore({
      dir: await tempDir(),
      probe: async () => ({ usable: true }),
      keyring: async () => keyring,
      platform: 'linux',
    })
    assert.equal(store.kind, 'keychain')
  })

  it('auto falls back to the file store and says so once per directory', async () => {
    const dir = await tempDir()
    const lines: string[] = []
    const options = {
      dir,
      log: (l: string) => lines.push(l),
      probe: async () => ({ usable: false as const, reason: 'no Secret Service' }),
    }
    const store = await openStore(options)
    assert.equal(store.kind, 'file')
    await store.set('k', 'v')
    await (await openStore(options)).get('k')
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0]!, /no usable OS keychain \(no Secret Service\)/)
  })

  it('auto stays with an existing file store without probing again', async () => {
    const dir = await tempDir()
    let probes = 0
    const options = {
      dir,
      log: () => {},
      probe: async () => {
        probes++
        return { usable: false as const, reason: 'none' }
      },
    }
    await (await openStore(options)).set('k', 'v')
    const again = await openStore({ ...options, probe: async () => ({ usable: true as const }) })
    assert.equal(again.kind, 'file')
    assert.deepEqual(await again.get('k'), { value: 'v', generation: 1 })
    assert.equal(probes, 1)
  })

  it('on Windows keeps tokens in files with the key in the keychain', async () => {
    const { keyring, items } = fakeKeyring()
    const store = await openStore({
      dir: await tempDir(),
      probe: async () => ({ usable: true }),
      keyring: async () => keyring,
      platform: 'win32',
    })
    assert.ok(store instanceof FileStore)
    await store.set('k', 'v')
    assert.equal(await store.keyLocation(), 'keychain')
    assert.equal(items.size, 1)
  })

  it('read-only (status) creates nothing where no store exists yet, whichever kind', async () => {
    const root = await tempDir()
    const dir = join(root, 'config', 'mcp-oauth')
    const lines: string[] = []
    for (const kind of ['auto', 'file'] as const) {
      const store = await openStore({
        kind,
        dir,
        readOnly: true,
        log: (l) => lines.push(l),
        probe: async () => ({ usable: false, reason: 'no Secret Service' }),
      })
      assert.equal(store.kind, 'file')
      assert.equal(await store.get('current x'), undefined)
      assert.deepEqual(await store.list?.('current '), [])
      await assert.rejects(store.set('k', 'v'), (e) => isMcpOAuthError(e, 'store_io_failed'))
    }
    assert.deepEqual(await fs.readdir(root), [], 'no directory, key, lock or notice marker')
    assert.deepEqual(lines, [])
    // Once a store exists, a read-only opener reads what a writer stored.
    await (await openStore({ dir, log: () => {}, probe: async () => ({ usable: false, reason: 'r' }) })).set(
      'k',
      'v',
    )
    const reader = await openStore({ dir, readOnly: true, log: () => {} })
    assert.deepEqual(await reader.get('k'), { value: 'v', generation: 1 })
  })

  it('refuses kind keychain when it is unusable, and gives memory when asked', async () => {
    await assert.rejects(
      openStore({
        kind: 'keychain',
        dir: await tempDir(),
        probe: async () => ({ usable: false, reason: 'r' }),
      }),
      (e) => isMcpOAuthError(e, 'keychain_unavailable'),
    )
    assert.equal((await openStore({ kind: 'memory' })).kind, 'memory')
  })

  it('probes the real keychain of this machine without hanging (usable or not, it answers)', async () => {
    const result = await probeKeychain({ fresh: true })
    assert.equal(typeof result.usable, 'boolean')
    if (!result.usable) assert.ok(result.reason.length > 0)
  })
})
