/**
 * PostgreSQL storage through `pg`, for several authorization server instances sharing one database.
 * @see https://node-postgres.com/apis/pool
 */
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createSqlStorage,
  type SqlDriver,
  type SqlStorageOptions,
} from './sql.ts'

/** Numbers `?` placeholders as `$1, $2, …` (our statements never contain a literal `?`). */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/**
 * Connects a pool to `connectionString` and returns authorization server storage on it.
 * @see https://node-postgres.com/apis/pool
 */
export async function createPostgresStorage(
  connectionString: string,
  options: SqlStorageOptions & { maxConnections?: number },
): Promise<AuthorizationServerStorage> {
  const pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 10 })
  pool.on('error', () => {})
  const driver: SqlDriver = {
    async run(sql, params = []) {
      return (await pool.query(numbered(sql), params)).rowCount ?? 0
    },
    async all(sql, params = []) {
      return (await pool.query(numbered(sql), params)).rows
    },
    async exec(sql) {
      // Concurrent instances creating the same schema race on the catalog; one lock serialises them.
      const client = await pool.connect()
      try {
        await client.query('SELECT pg_advisory_lock(7243118)')
        await client.query(sql)
      } finally {
        await client.query('SELECT pg_advisory_unlock(7243118)').catch(() => {})
        client.release()
      }
    },
    async close() {
      await pool.end()
    },
  }
  return createSqlStorage(driver, options)
}
