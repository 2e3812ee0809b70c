import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError, MINIMUM_NODE, UnsupportedRuntimeError } from '../../shared/errors.ts'
import { createSealer, generateStorageKey } from './sealing.ts'
import { createSqliteStorage, loadSqlite } from './sqlite.ts'

const root = mkdtempSync(join(tmpdir(), 'mcp-oauth-sqlite-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** What Node.js 20 throws for `import('node:sqlite')`. */
function unknownBuiltin(): Error {
  return Object.assign(new Error('No such built-in module: node:sqlite'), {
    code: 'ERR_UNKNOWN_BUILTIN_MODULE',
  })
}

describe('loadSqlite', () => {
  it('turns a runtime without node:sqlite into unsupported_runtime naming both versions and the fix', async () => {
    const error = await loadSqlite(async () => {
      throw unknownBuiltin()
    }).then(
      () => assert.fail('resolved without node:sqlite'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof UnsupportedRuntimeError)
    assert.ok(isMcpOAuthError(error, 'unsupported_runtime'))
    assert.match(error.message, new RegExp(`needs Node\\.js >=${MINIMUM_NODE.replace('.', '\\.')}`))
    assert.ok(error.message.includes(`found Node.js ${process.versions.node}`), error.message)
    assert.match(error.message, /no node:sqlite/)
    assert.match(error.hint, /install Node 22\.18 or newer from https:\/\/nodejs\.org .*nvm install 22/)
    assert.match(error.spec, /^https:\/\//)
    assert.equal((error.cause as Error).message, 'No such built-in module: node:sqlite')
  })

  it('passes any other failure through unchanged', async () => {
    const other = new Error('disk on fire')
    await assert.rejects(
      loadSqlite(async () => {
        throw other
      }),
      (e) => e === other,
    )
  })

  it('loads the real module on this Node', async () => {
    assert.equal(typeof (await loadSqlite()).DatabaseSync, 'function')
  })

  it('states the same minimum as package.json engines.node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string }
    }
    assert.equal(pkg.engines.node, `>=${MINIMUM_NODE}`)
  })
})

describe('createSqliteStorage files', () => {
  it('creates missing folders 0700 and the database (and its WAL and shared memory) 0600', async () => {
    const path = join(root, 'a', 'b', 'as.db')
    const storage = await createSqliteStorage(path, {
      sealer: createSealer(generateStorageKey()),
      purgeIntervalSeconds: 0,
    })
    try {
      await storage.loadSecret('probe', () => 'value')
      for (const dir of [join(root, 'a'), join(root, 'a', 'b')]) {
        assert.equal(statSync(dir).mode & 0o777, 0o700, dir)
      }
      const files = readdirSync(join(root, 'a', 'b')).sort()
      assert.deepEqual(files, ['as.db', 'as.db-shm', 'as.db-wal'])
      for (const f of files) assert.equal(statSync(join(root, 'a', 'b', f)).mode & 0o777, 0o600, f)
    } finally {
      await storage.close()
    }
  })
})
