/**
 * Shared counters in the authorization server's SQL database (SQLite or PostgreSQL), so every instance on one
 * database spends one budget: each hit is a single atomic upsert.
 * @see https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
 */
import type { SqlDriver } from './adapters/sql.ts'
import { counterKey, type SharedCounters } from './counters.ts'

/** Creates the counters table (prefix as the storage's) and returns counters over `driver`. @see https://www.sqlite.org/lang_upsert.html */
export async function createSqlCounters(
  driver: SqlDriver,
  prefix: string,
  purgeIntervalSeconds = 60,
): Promise<SharedCounters> {
  const table = `${prefix}counters`
  await driver.exec(
    `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, count BIGINT NOT NULL, reset_at BIGINT NOT NULL)`,
  )
  const timer =
    purgeIntervalSeconds > 0
      ? setInterval(() => {
          driver.run(`DELETE FROM ${table} WHERE reset_at <= ?`, [Date.now()]).catch(() => {})
        }, purgeIntervalSeconds * 1000)
      : undefined
  timer?.unref()
  return {
    async hit(key, windowMs) {
      const now = Date.now()
      // Every SET expression sees the old row, so an expired window restarts at 1 in the same statement.
      const rows = await driver.all(
        `INSERT INTO ${table} (key, count, reset_at) VALUES (?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN ${table}.reset_at <= ? THEN 1 ELSE ${table}.count + 1 END,
           reset_at = CASE WHEN ${table}.reset_at <= ? THEN excluded.reset_at ELSE ${table}.reset_at END
         RETURNING count, reset_at`,
        [counterKey(`hit:${key}`), now + windowMs, now, now],
      )
      const row = rows[0]!
      return { count: Number(row['count']), resetInMs: Number(row['reset_at']) - now }
    },
    async peek(key) {
      const now = Date.now()
      const rows = await driver.all(`SELECT count, reset_at FROM ${table} WHERE key = ? AND reset_at > ?`, [
        counterKey(`hit:${key}`),
        now,
      ])
      const row = rows[0]
      if (!row) return { count: 0, resetInMs: 0 }
      return { count: Number(row['count']), resetInMs: Number(row['reset_at']) - now }
    },
    async release(key) {
      await driver.run(`UPDATE ${table} SET count = count - 1 WHERE key = ? AND reset_at > ? AND count > 0`, [
        counterKey(`hit:${key}`),
        Date.now(),
      ])
    },
    async once(key, ttlMs) {
      const now = Date.now()
      // Inserted, or replaced an expired marker: first use. A live marker leaves the row untouched (0 rows).
      const changed = await driver.run(
        `INSERT INTO ${table} (key, count, reset_at) VALUES (?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET count = 1, reset_at = excluded.reset_at WHERE ${table}.reset_at <= ?`,
        [counterKey(`once:${key}`), now + ttlMs, now],
      )
      return changed > 0
    },
    async close() {
      if (timer) clearInterval(timer)
    },
  }
}
