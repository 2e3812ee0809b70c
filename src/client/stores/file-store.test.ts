import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { defaultStoreDir, FileStore } from './file-store.ts'
import type { SecretSource } from './keychain.ts'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-store-'))
  dirs.push(d)
  return d
}
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await allFiles(p)))
    else out.push(p)
  }
  return out
}

function memorySecrets(): SecretSource & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return {
    map,
    async get(a) {
      return map.get(a) ?? null
    },
    async set(a, s) {
      map.set(a, s)
    },
  }
}

describe('defaultStoreDir', () => {
  it('follows XDG_CONFIG_HOME when absolute; set but empty or relative counts as unset', () => {
    const fallback = join(homedir(), '.config', 'mcp-oauth')
    const absolute = join(tmpdir(), 'xdg-config')
    assert.equal(defaultStoreDir({ XDG_CONFIG_HOME: absolute }), join(absolute, 'mcp-oauth'))
    assert.equal(defaultStoreDir({ XDG_CONFIG_HOME: '' }), fallback)
    assert.equal(defaultStoreDir({ XDG_CONFIG_HOME: 'relative/dir' }), fallback)
    assert.equal(defaultStoreDir({}), fallback)
  })
})

describe('FileStore', () => {
  it('stores, compares-and-swaps, deletes and lists like the memory store', async () => {
    const store = new FileStore({ dir: await tempDir(), log: () => {} })
    assert.equal(await store.get('k'), undefined)
    assert.deepEqual(await store.set('session a', { t: 1 }, 0), { ok: true, generation: 1 })
    assert.deepEqual(await store.set('session a', { t: 2 }, 0), {
      ok: false,
      current: { value: { t: 1 }, generation: 1 },
    })
    assert.deepEqual(await store.set('session a', { t: 2 }, 1), { ok: true, generation: 2 })
    assert.deepEqual(await store.set('session a', { t: 3 }), { ok: true, generation: 3 })
    assert.deepEqual(await store.get('session a'), { value: { t: 3 }, generation: 3 })
    await store.set('session b', 'x')
    await store.set('registration i', 'y')
    assert.deepEqual(await store.list('session '), ['session a', 'session b'])
    assert.equal(await store.delete('session a', 1), false)
    assert.equal(await store.delete('session a', 3), true)
    assert.equal(await store.get('session a'), undefined)
    assert.equal(await store.delete('session a'), false)
  })

  it('keeps entries encrypted, 0600, in a 0700 directory; the key file warns once', async () => {
    const dir = await tempDir()
    const lines: string[] = []
    const store = new FileStore({ dir, log: (l) => lines.push(l) })
    const token = `at-${'Z'.repeat(40)}`
    await store.set('session https://mcp.example.com', { access_token: token, refresh_token: `${token}-r` })
    await new FileStore({ dir, log: (l) => lines.push(l) }).get('session https://mcp.example.com')
    assert.equal(lines.filter((l) => l.includes('store.key')).length, 1)
    assert.equal(await store.keyLocation(), 'file')
    assert.equal((await fs.stat(dir)).mode & 0o777, 0o700)
    for (const f of await allFiles(dir)) {
      const text = await fs.readFile(f, 'utf8')
      assert.ok(!text.includes('at-ZZZZ'), `${f} contains a readable token`)
      assert.ok(!text.includes('mcp.example.com'), `${f} reveals the server`)
      if (!f.endsWith('store-choice-announced')) assert.equal((await fs.stat(f)).mode & 0o777, 0o600, f)
    }
  })

  it('tightens an existing store directory to 0700', async () => {
    const dir = join(await tempDir(), 'wide')
    await fs.mkdir(dir, { mode: 0o755 })
    await fs.chmod(dir, 0o755)
    await new FileStore({ dir, log: () => {} }).set('k', 1)
    assert.equal((await fs.stat(dir)).mode & 0o777, 0o700)
  })

  it('moves a corrupt entry aside with a warning and reads it as absent', async () => {
    const dir = await tempDir()
    const lines: string[] = []
    const store = new FileStore({ dir, log: (l) => lines.push(l) })
    await store.set('k', { v: 1 })
    const [file] = (await fs.readdir(join(dir, 'entries'))).filter((f) => f.endsWith('.json'))
    await fs.writeFile(
      join(dir, 'entries', file!),
      '{"v":1,"alg":"A256GCM","iv":"x","tag":"y","ct":"garbage"}',
    )
    assert.equal(await store.get('k'), undefined)
    const names = await fs.readdir(join(dir, 'entries'))
    assert.ok(names.some((n) => n.startsWith(`${file}.corrupt-`)))
    assert.ok(lines.some((l) => l.includes('moved a damaged token store file aside')))
    assert.deepEqual(await store.set('k', { v: 2 }, 0), { ok: true, generation: 1 })
    await fs.writeFile(join(dir, 'entries', file!), 'not json at all')
    assert.equal(await store.get('k'), undefined)
  })

  it('moves an unreadable entry aside (here: a directory where the file should be)', async () => {
    const dir = await tempDir()
    const lines: string[] = []
    const store = new FileStore({ dir, log: (l) => lines.push(l) })
    await store.set('k', 1)
    const [file] = (await fs.readdir(join(dir, 'entries'))).filter((f) => f.endsWith('.json'))
    await fs.rm(join(dir, 'entries', file!))
    await fs.mkdir(join(dir, 'entries', file!))
    assert.equal(await store.get('k'), undefined)
    assert.ok(lines.some((l) => l.includes('EISDIR')))
    assert.ok((await fs.readdir(join(dir, 'entries'))).some((n) => n.startsWith(`${file}.corrupt-`)))
    assert.deepEqual(await store.set('k', 2, 0), { ok: true, generation: 1 })
  })

  it('survives a damaged key file and a damaged store description', async () => {
    const dir = await tempDir()
    const lines: string[] = []
    await new FileStore({ dir, log: (l) => lines.push(l) }).set('k', 1)
    await fs.writeFile(join(dir, 'store.key'), 'short')
    const again = new FileStore({ dir, log: (l) => lines.push(l) })
    assert.equal(await again.get('k'), undefined)
    assert.ok((await fs.readdir(dir)).some((n) => n.startsWith('store.key.corrupt-')))
    await again.set('k', 2)
    await fs.writeFile(join(dir, 'store.json'), '{{{')
    const third = new FileStore({ dir, log: (l) => lines.push(l) })
    assert.deepEqual(await third.get('k'), { value: 2, generation: 1 })
  })

  it('keeps its key in the keychain when one is available, and says why it cannot open without it', async () => {
    const dir = await tempDir()
    const secrets = memorySecrets()
    const store = new FileStore({ dir, secrets, log: () => {} })
    await store.set('k', 'v')
    assert.equal(await store.keyLocation(), 'keychain')
    assert.equal(secrets.map.size, 1)
    await assert.rejects(fs.stat(join(dir, 'store.key')))
    assert.deepEqual(await new FileStore({ dir, secrets, log: () => {} }).get('k'), {
      value: 'v',
      generation: 1,
    })
    await assert.rejects(new FileStore({ dir, log: () => {} }).get('k'), (e) =>
      isMcpOAuthError(e, 'store_key_unavailable'),
    )
  })

  it('serializes lock() holders', async () => {
    const store = new FileStore({ dir: await tempDir(), log: () => {} })
    const order: string[] = []
    const r1 = await store.lock('refresh x')
    const second = store.lock('refresh x').then(async (r2) => {
      order.push('second')
      await r2()
    })
    await new Promise((r) => setTimeout(r, 30))
    order.push('first done')
    await r1()
    await second
    assert.deepEqual(order, ['first done', 'second'])
  })
})
