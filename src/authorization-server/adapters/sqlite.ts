/**
 * SQLite storage (the embedded default) through `node:sqlite`: one file, WAL journal, no extra dependency.
 * @see https://nodejs.org/api/sqlite.html
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import {
  type AuthorizationServerStorage,
  createSqlStorage,
  type SqlDriver,
  type SqlStorageOptions,
} from './sql.ts'

/**
 * Opens (creating if needed) a SQLite database file, or `:memory:`, as authorization server storage.
 * @see https://nodejs.org/api/sqlite.html#class-databasesync
 */
export async function createSqliteStorage(
  path: string,
  options: SqlStorageOptions,
): Promise<AuthorizationServerStorage> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;')
  const driver: SqlDriver = {
    async run(sql, params = []) {
      return Number(db.prepare(sql).run(...(params as SQLInputValue[])).changes)
    },
    async all(sql, params = []) {
      return db.prepare(sql).all(...(params as SQLInputValue[])) as Record<string, unknown>[]
    },
    async exec(sql) {
      db.exec(sql)
    },
    async close() {
      if (db.isOpen) db.close()
    },
  }
  return createSqlStorage(driver, options)
}
