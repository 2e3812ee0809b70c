import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError, MINIMUM_NODE, UnsupportedRuntimeError } from '../../shared/errors.ts'
import { createSealer, generateStorageKey } from './sealing.ts'
import { FIRST_CHANGED, type SqlStatement } from './sql.ts'
import { createSqliteStorage, loadSqlite, sqliteDriver } from './sqlite.ts'

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

describe('sqliteDriver group commit', () => {
  async function open(name: string) {
    const { DatabaseSync } = await loadSqlite()
    const path = join(root, name)
    const db = new DatabaseSync(path)
    db.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0')
    const driver = sqliteDriver(db)
    await driver.exec(
      'CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE u (k TEXT PRIMARY KEY)',
    )
    // A second connection reads how many WAL frames the writes appended (one per page per commit).
    const observer = new DatabaseSync(path)
    const framesSince = () => {
      const { log } = observer.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }
      observer.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      return log
    }
    framesSince()
    const keys = async (sql: string) => (await driver.all(sql)).map((row) => row['k'])
    const close = async () => {
      observer.close()
      await driver.close()
    }
    return { driver, keys, framesSince, close }
  }
  const step = (k: string, alongside: string[] = []): [SqlStatement, SqlStatement, SqlStatement[]] => [
    { sql: 'INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING', params: [k, 'first'] },
    { sql: `INSERT INTO u (k) SELECT ? WHERE ${FIRST_CHANGED}`, params: [k] },
    alongside.map((v) => ({ sql: 'INSERT INTO t (k, v) VALUES (?, ?)', params: [v, 'alongside'] })),
  ]

  it('commits the steps that arrive in one turn together: their shared pages reach the WAL once', async () => {
    const { driver, keys, framesSince, close } = await open('group.db')
    try {
      assert.equal(await driver.runChained(...step('a')), 1)
      const one = framesSince()
      const changed = await Promise.all(['b', 'c', 'd'].map((k) => driver.runChained(...step(k))))
      assert.deepEqual(changed, [1, 1, 1])
      // Separate commits would write both tables' pages three times.
      assert.equal(framesSince(), one)
      assert.deepEqual(await keys('SELECT k FROM u ORDER BY k'), ['a', 'b', 'c', 'd'])
    } finally {
      await close()
    }
  })

  it('undoes a failing step alone and still tells each caller its own outcome', async () => {
    const { driver, keys, close } = await open('partial.db')
    try {
      await driver.run('INSERT INTO t (k, v) VALUES (?, ?)', ['taken', 'before'])
      const outcomes = await Promise.allSettled([
        driver.runChained(...step('x')),
        // Its alongside insert collides: the whole step (its first and second statements too) is undone.
        driver.runChained(...step('y', ['taken'])),
        driver.runChained(...step('x')),
        driver.runChained(...step('z')),
      ])
      assert.deepEqual(
        outcomes.map((o) => (o.status === 'fulfilled' ? o.value : 'rejected')),
        [1, 'rejected', 0, 1],
      )
      assert.deepEqual(await keys('SELECT k FROM u ORDER BY k'), ['x', 'z'])
      assert.deepEqual(await keys("SELECT k FROM t WHERE v = 'first' ORDER BY k"), ['x', 'z'])
    } finally {
      await close()
    }
  })

  it('fails every step of a group whose BEGIN finds the database locked, then works again; close() writes what is queued', async () => {
    const { driver, close } = await open('busy.db')
    const { DatabaseSync } = await loadSqlite()
    const other = new DatabaseSync(join(root, 'busy.db'))
    try {
      await driver.exec('PRAGMA busy_timeout = 50')
      other.exec('BEGIN IMMEDIATE')
      const outcomes = await Promise.allSettled([
        driver.runChained(...step('a')),
        driver.runChained(...step('b')),
      ])
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected'],
      )
      other.exec('ROLLBACK')
      assert.equal(await driver.runChained(...step('a')), 1)
      const queued = driver.runChained(...step('c'))
      await close()
      assert.equal(await queued, 1, 'written by close()')
      const after = new DatabaseSync(join(root, 'busy.db'))
      assert.deepEqual(
        (after.prepare('SELECT k FROM u ORDER BY k').all() as { k: string }[]).map((r) => r.k),
        ['a', 'c'],
      )
      after.close()
    } finally {
      other.close()
    }
  })
})
