/**
 * SQLite storage (the embedded default) through `node:sqlite`: one file, WAL journal, no extra dependency.
 * `node:sqlite` is loaded on first use, so the PostgreSQL storage and the rest of the authorization server still
 * import on a Node.js without it; opening a SQLite store there throws `unsupported_runtime`.
 * @see https://nodejs.org/api/sqlite.html
 */
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite'
import { unsupportedRuntime } from '../../shared/errors.ts'
import {
  type AuthorizationServerStorage,
  createSqlStorage,
  FIRST_CHANGED,
  type SqlDriver,
  type SqlStatement,
  type SqlStorageOptions,
  type SqlValue,
} from './sql.ts'

/** The `node:sqlite` module. @see https://nodejs.org/api/sqlite.html */
export type SqliteModule = typeof import('node:sqlite')

/**
 * Loads `node:sqlite` through `importer`; a runtime without it (Node.js before 22.13, or one built without it)
 * gets the typed `unsupported_runtime` error naming the version needed instead of `ERR_UNKNOWN_BUILTIN_MODULE`.
 * @see https://nodejs.org/api/sqlite.html
 */
export async function loadSqlite(
  importer: () => Promise<SqliteModule> = () => import('node:sqlite'),
): Promise<SqliteModule> {
  try {
    return await importer()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_BUILTIN_MODULE') {
      throw unsupportedRuntime('node:sqlite', error)
    }
    throw error
  }
}

/**
 * Opens (creating if needed) a SQLite database file, or `:memory:`, as authorization server storage. A new file
 * and its missing parent folders are created private (folders 0700, the database 0600; SQLite gives its WAL and
 * shared-memory files the database's mode).
 * @see https://nodejs.org/api/sqlite.html#class-databasesync
 */
export async function createSqliteStorage(
  path: string,
  options: SqlStorageOptions,
): Promise<AuthorizationServerStorage> {
  const { DatabaseSync } = await loadSqlite()
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    // SQLite would create the file with the umask's mode (often 0644): create it first, private.
    closeSync(openSync(path, 'a', 0o600))
  }
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;')
  return createSqlStorage(sqliteDriver(db), options)
}

/** One {@link SqlDriver.runChained} call waiting for the next group commit. */
interface QueuedStep {
  first: SqlStatement
  second: SqlStatement
  alongside: readonly SqlStatement[]
  resolve(changed: number): void
  reject(error: unknown): void
}

/**
 * The {@link SqlDriver} over one `node:sqlite` connection. The atomic steps of {@link SqlDriver.runChained}
 * (one per refresh) that reach it in the same turn of the event loop are committed in one transaction; when a
 * step fails, the group is rolled back and each step redone alone, so only that one fails. Each caller hears
 * back only after its COMMIT.
 * @see https://www.sqlite.org/lang_transaction.html
 */
export function sqliteDriver(db: DatabaseSync): SqlDriver {
  // Each statement is compiled once per connection and reused: preparing costs more than running these.
  const statements = new Map<string, StatementSync>()
  const prepared = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      statements.set(sql, statement)
    }
    return statement
  }
  const run = (sql: string, params: SqlValue[] = []) =>
    Number(prepared(sql).run(...(params as SQLInputValue[])).changes)
  const runStep = ({ first, second, alongside }: QueuedStep) => {
    const changed = run(first.sql, first.params)
    if (changed > 0) run(second.sql.replaceAll(FIRST_CHANGED, '1'), second.params)
    for (const statement of alongside) run(statement.sql, statement.params)
    return changed
  }
  // Whether the last failure of `commit` came from a step's own statements (not BEGIN or COMMIT).
  let stepFailed = false
  const commit = (steps: readonly QueuedStep[]) => {
    stepFailed = false
    // Synchronous from BEGIN to COMMIT, so no other statement of this connection can land inside.
    run('BEGIN IMMEDIATE')
    try {
      stepFailed = true
      const changed = steps.map(runStep)
      stepFailed = false
      run('COMMIT')
      return changed
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw error
    }
  }
  let queue: QueuedStep[] = []
  // A commit writes every page the transaction touched to the WAL (two writes each) and its share of the next
  // checkpoint: the table's last page, the index tails and the header are then written once per group, not
  // once per refresh.
  const flush = () => {
    const steps = queue
    queue = []
    // Already written by close().
    if (!steps.length) return
    let changed: number[]
    try {
      changed = commit(steps)
    } catch (error) {
      if (!stepFailed || steps.length === 1) {
        for (const step of steps) step.reject(error)
        return
      }
      // One step failed and the group was rolled back: each is redone alone, so only that one fails (cheaper
      // than a savepoint per step, whose page copies are paid on every group).
      for (const step of steps) {
        try {
          step.resolve(commit([step])[0]!)
        } catch (failure) {
          step.reject(failure)
        }
      }
      return
    }
    steps.forEach((step, i) => {
      step.resolve(changed[i]!)
    })
  }
  return {
    async run(sql, params) {
      return run(sql, params)
    },
    async all(sql, params = []) {
      return prepared(sql).all(...(params as SQLInputValue[])) as Record<string, unknown>[]
    },
    runChained(first, second, alongside = []) {
      return new Promise<number>((resolve, reject) => {
        if (queue.push({ first, second, alongside, resolve, reject }) === 1) setImmediate(flush)
      })
    },
    async exec(sql) {
      db.exec(sql)
    },
    async close() {
      if (queue.length) flush()
      statements.clear()
      if (db.isOpen) db.close()
    },
  }
}
