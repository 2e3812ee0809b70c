/**
 * PostgreSQL storage through `pg`, for several authorization server instances sharing one database.
 * @see https://node-postgres.com/apis/pool
 */
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createSqlStorage,
  FIRST_CHANGED,
  type SqlDriver,
  type SqlStorageOptions,
  type SqlValue,
} from './sql.ts'

/** Numbers `?` placeholders as `$1, $2, …` from `start` (our statements never contain a literal `?`). */
function numbered(sql: string, start = 0): string {
  let n = start
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
  // Named statements: each connection parses and plans a statement once, then only binds and executes it.
  const named = new Map<string, { name: string; text: string }>()
  const query = (sql: string, values: SqlValue[]) => {
    let statement = named.get(sql)
    if (!statement) {
      statement = { name: `mcp_oauth_${named.size}`, text: numbered(sql) }
      named.set(sql, statement)
    }
    return pool.query({ ...statement, values })
  }
  const driver: SqlDriver = {
    async run(sql, params = []) {
      return (await query(sql, params)).rowCount ?? 0
    },
    async all(sql, params = []) {
      return (await query(sql, params)).rows
    },
    async runChained(first, second, alongside = []) {
      // One statement, so one round trip and atomic: the second part sees whether the first inserted a row;
      // every data-modifying CTE runs whether or not the final SELECT reads it.
      const sql = [
        `WITH first_step AS (${first.sql} RETURNING 1)`,
        `, second_step AS (${second.sql.replaceAll(FIRST_CHANGED, 'EXISTS (SELECT 1 FROM first_step)')} RETURNING 1)`,
        ...alongside.map((statement, i) => `, step_${i} AS (${statement.sql} RETURNING 1)`),
        ' SELECT count(*)::int AS changed FROM first_step',
      ].join('')
      const params = [first, second, ...alongside].flatMap((statement) => statement.params ?? [])
      return Number((await query(sql, params)).rows[0]?.['changed'] ?? 0)
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
