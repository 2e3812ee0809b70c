/**
 * oidc-provider's Adapter interface over any SQL database (SQLite, PostgreSQL): one table of artifacts keyed
 * by (model, hashed id), one table of sealed server secrets. Dialect differences live in the driver.
 * @see https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */

import { errors } from 'oidc-provider'
import { createSqlCounters } from '../counters-sql.ts'
import {
  type Adapter,
  type AdapterPayload,
  type AuthorizationServerStorage,
  FIRST_CHANGED,
  type SqlDriver,
  type SqlStatement,
  type SqlStorageOptions,
  type SqlValue,
} from './contract.ts'
import { ONE_TIME_GRANT_SOURCES } from './replay.ts'
import { currentRefreshRotation, type RefreshRotation } from './rotation.ts'
import { rememberingHash } from './sealing.ts'

export {
  type Adapter,
  type AdapterPayload,
  type AuthorizationServerStorage,
  FIRST_CHANGED,
  type SqlDriver,
  type SqlStatement,
  type SqlStorageOptions,
  type SqlValue,
}

const SEALED_ID = 'mcp_oauth_sealed_id'
/** Pseudo-model of the row that records a refresh token's rotation: same id, the successor sealed inside. */
const ROTATION = 'RefreshTokenRotation'
const CLIENT_TOUCH_INTERVAL_MS = 60 * 60 * 1000
const UPSERT_CONFLICT = `ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
  uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`

/** A refresh token rotation held back until its request answers, with the writes that joined it. */
interface HeldRotation {
  predecessor: string
  id: string
  row: SqlValue[]
  alongside: SqlStatement[]
}

/** Creates the schema and returns storage over `driver`. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export async function createSqlStorage(
  driver: SqlDriver,
  options: SqlStorageOptions,
): Promise<AuthorizationServerStorage> {
  const prefix = options.tablePrefix ?? 'mcp_oauth_'
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(prefix)) throw new Error('table prefix must be an SQL identifier')
  const models = `${prefix}models`
  const secrets = `${prefix}secrets`
  const { sealer } = options
  const graceMs = (options.refreshReuseGraceSeconds ?? 30) * 1000
  const clock = options.now ?? Date.now
  const unusedClientMs = (options.unusedClientTtlSeconds ?? 30 * 24 * 3600) * 1000

  // Only sessions and interactions have a uid, only device codes a user code: partial indexes skip the tokens,
  // so writing one touches two fewer index trees (the older full indexes are replaced).
  await driver.exec(`
    CREATE TABLE IF NOT EXISTS ${models} (
      model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
      grant_id TEXT, uid TEXT, user_code TEXT,
      expires_at BIGINT, consumed_at BIGINT, last_used_at BIGINT,
      PRIMARY KEY (model, id));
    CREATE INDEX IF NOT EXISTS ${models}_grant ON ${models} (grant_id);
    DROP INDEX IF EXISTS ${models}_uid;
    DROP INDEX IF EXISTS ${models}_user_code;
    CREATE INDEX IF NOT EXISTS ${models}_uid_set ON ${models} (model, uid) WHERE uid IS NOT NULL;
    CREATE INDEX IF NOT EXISTS ${models}_user_code_set ON ${models} (model, user_code) WHERE user_code IS NOT NULL;
    CREATE INDEX IF NOT EXISTS ${models}_expires ON ${models} (expires_at);
    CREATE TABLE IF NOT EXISTS ${secrets} (name TEXT PRIMARY KEY, value TEXT NOT NULL);`)

  // A refresh hashes its grant id for each row it reads or writes, and the presented token twice.
  const hashId = rememberingHash(sealer)
  const optionalHash = (value: unknown) => (typeof value === 'string' ? hashId(value) : null)

  /** Strips what must not rest in clear text; `id` is restored from the caller's argument on read. */
  function toStored(model: string, id: string, payload: AdapterPayload): string {
    const stored: AdapterPayload = { ...payload }
    if (stored['jti'] === id) delete stored['jti']
    // Artifacts found by uid or user code need their id back; it rests sealed, never in clear.
    if (model === 'Session' || typeof payload['userCode'] === 'string') stored[SEALED_ID] = sealer.seal(id)
    if (typeof stored['client_secret'] === 'string')
      stored['client_secret'] = sealer.seal(stored['client_secret'])
    return JSON.stringify(stored)
  }

  function fromStored(model: string, id: string | undefined, row: Record<string, unknown>): AdapterPayload {
    const payload = JSON.parse(String(row['payload'])) as AdapterPayload
    const sealedId = payload[SEALED_ID]
    delete payload[SEALED_ID]
    const realId = id ?? (typeof sealedId === 'string' ? sealer.open(sealedId) : undefined)
    if (realId !== undefined && model !== 'Client' && payload['jti'] === undefined) payload['jti'] = realId
    if (typeof payload['client_secret'] === 'string') {
      payload['client_secret'] = sealer.open(payload['client_secret'])
    }
    const rotatedAt = row['rotated_at'] == null ? undefined : Number(row['rotated_at'])
    const consumedAt = rotatedAt ?? (row['consumed_at'] == null ? undefined : Number(row['consumed_at']))
    // Within the grace window a rotated token still passes oidc-provider's checks; the adapter then answers
    // with the recorded successor (see storeRotation), so a retry continues the one chain.
    if (consumedAt !== undefined && !(rotatedAt !== undefined && clock() - rotatedAt < graceMs)) {
      payload['consumed'] = Math.floor(consumedAt / 1000)
    }
    return payload
  }

  const live = `(expires_at IS NULL OR expires_at > ?)`

  async function findWhere(model: string, column: string, value: string, id?: string) {
    await settle()
    const now = clock()
    // A refresh token's rotation row (same id) comes in the same read: it says whether and when it was rotated.
    const rows = await driver.all(
      model === 'RefreshToken'
        ? `SELECT m.payload, m.consumed_at, m.last_used_at, r.consumed_at AS rotated_at FROM ${models} m
           LEFT JOIN ${models} r ON r.model = '${ROTATION}' AND r.id = m.id
           WHERE m.model = ? AND m.${column} = ? AND (m.expires_at IS NULL OR m.expires_at > ?)`
        : `SELECT payload, consumed_at, last_used_at FROM ${models} WHERE model = ? AND ${column} = ? AND ${live}`,
      [model, hashId(value), now],
    )
    const row = rows[0]
    if (!row) return undefined
    if (
      model === 'Client' &&
      id !== undefined &&
      now - Number(row['last_used_at'] ?? 0) > CLIENT_TOUCH_INTERVAL_MS
    ) {
      await driver.run(`UPDATE ${models} SET last_used_at = ? WHERE model = ? AND id = ?`, [
        now,
        model,
        hashId(id),
      ])
    }
    return fromStored(model, id, row)
  }

  /**
   * Stores the successor refresh token and records it as the one rotation of `predecessor`, atomically: the
   * rotation row's insert decides (exactly one request wins) and the successor row is written only by the
   * winner. Returns the winner's successor, which is `id` unless another request rotated first.
   */
  async function storeRotation(
    predecessor: string,
    id: string,
    row: SqlValue[],
    alongside: readonly SqlStatement[],
  ): Promise<string> {
    const now = clock()
    const key = hashId(predecessor)
    // The rotation row shares the token's grant (revoked with it) and expiry (purged with it); its consumed_at
    // is the rotation time the grace window counts from (read back by findWhere's join).
    const won = await driver.runChained(
      {
        sql: `INSERT INTO ${models} (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at, last_used_at)
              SELECT ?, id, ?, grant_id, NULL, NULL, expires_at, ?, ? FROM ${models} WHERE model = ? AND id = ?
              ON CONFLICT (model, id) DO NOTHING`,
        params: [ROTATION, JSON.stringify({ successor: sealer.seal(id) }), now, now, 'RefreshToken', key],
      },
      {
        sql: `INSERT INTO ${models} (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at, last_used_at)
              SELECT ?, ?, ?, ?, ?, ?, CAST(? AS BIGINT), CAST(NULL AS BIGINT), CAST(? AS BIGINT) WHERE ${FIRST_CHANGED}
              ${UPSERT_CONFLICT}`,
        params: row,
      },
      alongside,
    )
    if (won > 0) return id
    const rows = await driver.all(`SELECT payload FROM ${models} WHERE model = ? AND id = ?`, [ROTATION, key])
    const sealed = rows[0]
      ? (JSON.parse(String(rows[0]['payload'])) as { successor?: unknown }).successor
      : undefined
    // No rotation row and no insert: the predecessor is gone (its grant was revoked meanwhile).
    return typeof sealed === 'string' ? sealer.open(sealed) : id
  }

  const upsertSql = `INSERT INTO ${models} (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ${UPSERT_CONFLICT}`
  const held = new WeakMap<RefreshRotation, HeldRotation>()
  // The write of a rotation once taken from `held`: a driver may commit it a turn later (SQLite's group commit),
  // and a statement of the same request issued meanwhile must still come after it.
  const writing = new WeakMap<RefreshRotation, Promise<void>>()

  function commitRotation(rotation: RefreshRotation): Promise<void> {
    const write = held.get(rotation)
    if (!write) return writing.get(rotation) ?? Promise.resolve()
    held.delete(rotation)
    rotation.commit = undefined
    const written = storeRotation(write.predecessor, write.id, write.row, write.alongside).then((winner) => {
      if (winner !== write.id) rotation.successor = winner
    })
    writing.set(rotation, written)
    return written
  }

  /** Writes a held rotation before any other statement of its request, so reads and deletes see it. */
  async function settle(): Promise<void> {
    const rotation = currentRefreshRotation()
    if (!rotation) return
    if (held.has(rotation)) await commitRotation(rotation)
    // A failed write is its committer's to report; this statement only waits for it to be over.
    else await writing.get(rotation)?.catch(() => {})
  }

  function adapter(model: string): Adapter {
    return {
      async upsert(id, payload, expiresIn) {
        const now = clock()
        const expiresAt = typeof expiresIn === 'number' ? now + expiresIn * 1000 : null
        const row: SqlValue[] = [
          model,
          hashId(id),
          toStored(model, id, payload),
          optionalHash(payload['grantId']),
          optionalHash(payload['uid']),
          optionalHash(payload['userCode']),
          expiresAt,
          now,
        ]
        const rotation = currentRefreshRotation()
        const pending = rotation && held.get(rotation)
        if (pending) {
          // Written after the successor in the same request (the access token's grant record): one step with it.
          pending.alongside.push({ sql: upsertSql, params: row })
          return
        }
        if (
          model === 'RefreshToken' &&
          rotation?.predecessor !== undefined &&
          rotation.successor === undefined
        ) {
          held.set(rotation, { predecessor: rotation.predecessor, id, row, alongside: [] })
          rotation.commit = () => commitRotation(rotation)
          return
        }
        await driver.run(upsertSql, row)
      },
      find: (id) => findWhere(model, 'id', id, id),
      findByUid: (uid) => findWhere(model, 'uid', uid),
      findByUserCode: (userCode) => findWhere(model, 'user_code', userCode),
      async consume(id) {
        await settle()
        const rotation = model === 'RefreshToken' ? currentRefreshRotation() : undefined
        if (rotation) {
          // Consumed when its successor is stored (storeRotation), so no crash can leave it used but unanswered.
          rotation.predecessor = id
          return
        }
        if (ONE_TIME_GRANT_SOURCES.has(model)) {
          // oidc-provider finds the code, checks it unused, then consumes it: two token requests presenting it at
          // once both pass the check. Only the one whose UPDATE marks it gets tokens.
          const marked = await driver.run(
            `UPDATE ${models} SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL`,
            [clock(), model, hashId(id)],
          )
          if (marked === 0) throw new errors.InvalidGrant('grant already consumed by a concurrent request')
          return
        }
        // The first use time is kept, so repeated presentations cannot stretch the grace window.
        await driver.run(
          `UPDATE ${models} SET consumed_at = COALESCE(consumed_at, ?) WHERE model = ? AND id = ?`,
          [clock(), model, hashId(id)],
        )
      },
      async destroy(id) {
        await settle()
        await driver.run(`DELETE FROM ${models} WHERE model = ? AND id = ?`, [model, hashId(id)])
      },
      async revokeByGrantId(grantId) {
        await settle()
        await driver.run(`DELETE FROM ${models} WHERE grant_id = ?`, [hashId(grantId)])
      },
    }
  }

  async function loadSecret(name: string, create: () => string): Promise<string> {
    const read = async () => (await driver.all(`SELECT value FROM ${secrets} WHERE name = ?`, [name]))[0]
    let row = await read()
    if (!row) {
      // Several instances may start at once: the first insert wins, everyone reads the winner.
      await driver.run(`INSERT INTO ${secrets} (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, [
        name,
        sealer.seal(create()),
      ])
      row = await read()
    }
    return sealer.open(String(row!['value']))
  }

  async function updateSecret(
    name: string,
    update: (current: string | undefined) => string,
  ): Promise<string> {
    // Compare-and-swap on the sealed value: a concurrent writer makes the UPDATE match no row, and we redo.
    for (let attempt = 0; attempt < 20; attempt++) {
      const row = (await driver.all(`SELECT value FROM ${secrets} WHERE name = ?`, [name]))[0]
      const sealed = row ? String(row['value']) : undefined
      const next = update(sealed === undefined ? undefined : sealer.open(sealed))
      const changed =
        sealed === undefined
          ? await driver.run(
              `INSERT INTO ${secrets} (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
              [name, sealer.seal(next)],
            )
          : await driver.run(`UPDATE ${secrets} SET value = ? WHERE name = ? AND value = ?`, [
              sealer.seal(next),
              name,
              sealed,
            ])
      if (changed === 1) return next
    }
    throw new Error(`secret ${name} kept changing under concurrent updates; retry`)
  }

  async function purge(): Promise<number> {
    const now = clock()
    let removed = await driver.run(`DELETE FROM ${models} WHERE expires_at IS NOT NULL AND expires_at <= ?`, [
      now,
    ])
    if (unusedClientMs > 0) {
      removed += await driver.run(`DELETE FROM ${models} WHERE model = 'Client' AND last_used_at < ?`, [
        now - unusedClientMs,
      ])
    }
    return removed
  }

  const intervalSeconds = options.purgeIntervalSeconds ?? 300
  const timer =
    intervalSeconds > 0
      ? setInterval(() => {
          purge().catch(() => {})
        }, intervalSeconds * 1000)
      : undefined
  timer?.unref()
  const counters = await createSqlCounters(driver, prefix)

  return {
    adapter,
    loadSecret,
    updateSecret,
    purge,
    counters,
    async close() {
      if (timer) clearInterval(timer)
      await counters.close()
      await driver.close()
    },
  }
}
