import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { need, POSTGRES_URL, postgresAvailable } from '../../../test/support/environment.ts'
import { createPostgresStorage } from './postgres.ts'
import { idempotentRefreshRotation } from './rotation.ts'
import { createSealer, generateStorageKey } from './sealing.ts'
import type { AuthorizationServerStorage, SqlStorageOptions } from './sql.ts'
import { createSqliteStorage } from './sqlite.ts'

interface Backend {
  name: string
  available: () => Promise<boolean>
  open: (
    options: SqlStorageOptions,
  ) => Promise<{ storage: AuthorizationServerStorage; raw: () => Promise<string> }>
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    available: async () => true,
    async open(options) {
      const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-store-'))
      const file = join(dir, 'as.db')
      const storage = await createSqliteStorage(file, options)
      return {
        storage: {
          ...storage,
          close: async () => {
            await storage.close()
            rmSync(dir, { recursive: true, force: true })
          },
        },
        raw: async () =>
          readFileSync(file).toString('latin1') + readFileSync(`${file}-wal`).toString('latin1'),
      }
    },
  },
  {
    name: 'postgres',
    available: postgresAvailable,
    async open(options) {
      const prefix = `t${randomBytes(6).toString('hex')}_`
      const storage = await createPostgresStorage(POSTGRES_URL, { ...options, tablePrefix: prefix })
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      return {
        storage: {
          ...storage,
          close: async () => {
            await storage.close()
            await client.query(`DROP TABLE IF EXISTS ${prefix}models, ${prefix}secrets`)
            await client.end()
          },
        },
        raw: async () => JSON.stringify((await client.query(`SELECT * FROM ${prefix}models`)).rows),
      }
    },
  },
]

for (const backend of backends) {
  describe(`storage adapter on ${backend.name}`, () => {
    const base = (): SqlStorageOptions => ({
      sealer: createSealer(generateStorageKey()),
      purgeIntervalSeconds: 0,
    })

    test('round-trips payloads, finds by uid and user code, keeps ids and secrets out of the rows', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage, raw } = await backend.open(base())
      try {
        const tokenId = `at-${randomBytes(16).toString('hex')}`
        const at = storage.adapter('AccessToken')
        await at.upsert(tokenId, { jti: tokenId, grantId: 'g1', accountId: 'alice', kind: 'AccessToken' }, 60)
        assert.deepEqual(await at.find(tokenId), {
          jti: tokenId,
          grantId: 'g1',
          accountId: 'alice',
          kind: 'AccessToken',
        })
        assert.equal(await at.find('nope'), undefined)

        const sessionId = `sess-${randomBytes(16).toString('hex')}`
        const sessions = storage.adapter('Session')
        await sessions.upsert(sessionId, { jti: sessionId, uid: 'uid-1', accountId: 'alice' }, 60)
        assert.equal((await sessions.findByUid('uid-1'))?.['jti'], sessionId)

        const dc = storage.adapter('DeviceCode')
        await dc.upsert('dc-1', { jti: 'dc-1', userCode: 'ABCD-EFGH', grantId: 'g1' }, 60)
        assert.equal((await dc.findByUserCode('ABCD-EFGH'))?.['jti'], 'dc-1')

        const secret = `secret-${randomBytes(16).toString('hex')}`
        const clients = storage.adapter('Client')
        await clients.upsert('client-1', {
          client_id: 'client-1',
          client_secret: secret,
          redirect_uris: ['x'],
        })
        assert.equal((await clients.find('client-1'))?.['client_secret'], secret)

        const rows = await raw()
        assert.ok(!rows.includes(tokenId), 'token id stored in clear')
        assert.ok(!rows.includes(sessionId), 'session id stored in clear')
        assert.ok(!rows.includes(secret), 'client secret stored in clear')
      } finally {
        await storage.close()
      }
    })

    test('consume marks codes used; a refresh token rotates once, its reuse is tolerated only inside the grace window', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      // A moved clock, not a sleep: "inside" and "after" the window must not depend on how busy the machine is.
      let offsetMs = 0
      const { storage } = await backend.open({
        ...base(),
        refreshReuseGraceSeconds: 20,
        now: () => Date.now() + offsetMs,
      })
      try {
        const codes = storage.adapter('AuthorizationCode')
        await codes.upsert('code-1', { jti: 'code-1', grantId: 'g' }, 60)
        await codes.consume('code-1')
        assert.equal(typeof (await codes.find('code-1'))?.['consumed'], 'number')

        const rts = storage.adapter('RefreshToken')
        await rts.upsert('rt-0', { jti: 'rt-0', grantId: 'g' }, 60)
        await rts.consume('rt-0')
        assert.equal(
          typeof (await rts.find('rt-0'))?.['consumed'],
          'number',
          'outside a token request: strict',
        )

        // Two token requests rotating rt-1 at once, as oidc-provider does it: consume, then save a successor.
        await rts.upsert('rt-1', { jti: 'rt-1', grantId: 'g' }, 60)
        const rotate = async (successor: string) => {
          const ctx = { body: { refresh_token: successor } }
          await idempotentRefreshRotation(ctx, async () => {
            await rts.consume('rt-1')
            await rts.upsert(successor, { jti: successor, grantId: 'g' }, 60)
          })
          return ctx.body.refresh_token
        }
        const answers = await Promise.all([rotate('rt-2'), rotate('rt-3')])
        assert.equal(answers[0], answers[1], 'both requests answer with the one successor')
        const loser = answers[0] === 'rt-2' ? 'rt-3' : 'rt-2'
        assert.equal(await rts.find(loser), undefined, 'the successor minted by the loser is gone')
        assert.ok(await rts.find(answers[0]!))
        assert.equal((await rts.find('rt-1'))?.['consumed'], undefined, 'inside the grace window')
        assert.equal(await rotate('rt-4'), answers[0], 'a retry inside the window gets the same successor')
        offsetMs = 21_000
        assert.equal(typeof (await rts.find('rt-1'))?.['consumed'], 'number', 'after the grace window')
        await rts.revokeByGrantId('g')
        assert.equal(await rts.find(answers[0]!), undefined)
      } finally {
        await storage.close()
      }
    })

    test('a rotation and the writes after it in its request land together, or not at all when it fails', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage } = await backend.open({ ...base(), refreshReuseGraceSeconds: 0 })
      try {
        const rts = storage.adapter('RefreshToken')
        const grants = storage.adapter('AccessTokenGrant')
        await rts.upsert('rt-a', { jti: 'rt-a', grantId: 'g' }, 60)
        await rts.upsert('rt-b', { jti: 'rt-b', grantId: 'g' }, 60)
        // As oidc-provider refreshes: consume, store the successor, then the access token's grant record.
        const refresh = async (presented: string, successor: string, answer: Record<string, unknown>) => {
          const ctx: { body: unknown; status?: number } = { body: undefined }
          await idempotentRefreshRotation(ctx, async () => {
            await rts.consume(presented)
            await rts.upsert(successor, { jti: successor, grantId: 'g' }, 60)
            await grants.upsert(`at-${successor}`, { grantId: 'g' }, 60)
            ctx.body = answer
          })
          return ctx
        }
        await refresh('rt-a', 'rt-a2', { error: 'server_error' })
        assert.equal(await rts.find('rt-a2'), undefined, 'a failed request stores no successor')
        assert.equal(await grants.find('at-rt-a2'), undefined, 'nor what joined it')
        assert.equal((await rts.find('rt-a'))?.['consumed'], undefined, 'the presented token still works')

        await refresh('rt-a', 'rt-a3', { refresh_token: 'rt-a3' })
        assert.ok(await rts.find('rt-a3'))
        assert.equal((await grants.find('at-rt-a3'))?.['grantId'], 'g')
        assert.equal(typeof (await rts.find('rt-a'))?.['consumed'], 'number', 'rotated (no grace window)')

        // A read in the same request after the successor was stored sees it (the held write goes first).
        const ctx: { body: unknown } = { body: undefined }
        await idempotentRefreshRotation(ctx, async () => {
          await rts.consume('rt-b')
          await rts.upsert('rt-b2', { jti: 'rt-b2', grantId: 'g' }, 60)
          assert.ok(await rts.find('rt-b2'))
          ctx.body = { refresh_token: 'rt-b2' }
        })
        assert.equal(typeof (await rts.find('rt-b'))?.['consumed'], 'number')

        // Two statements of one request at once: the second, issued while the first is writing the rotation (a
        // group commit may write it a turn later), still sees the rotation.
        await rts.upsert('rt-c', { jti: 'rt-c', grantId: 'g' }, 60)
        await idempotentRefreshRotation({ body: { refresh_token: 'rt-c2' } }, async () => {
          await rts.consume('rt-c')
          await rts.upsert('rt-c2', { jti: 'rt-c2', grantId: 'g' }, 60)
          const [, presented] = await Promise.all([rts.find('elsewhere'), rts.find('rt-c')])
          assert.equal(
            typeof presented?.['consumed'],
            'number',
            'the concurrent read came after the rotation',
          )
        })
      } finally {
        await storage.close()
      }
    })

    test('revokeByGrantId removes every artifact of the grant and nothing else', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage } = await backend.open(base())
      try {
        const at = storage.adapter('AccessToken')
        const rt = storage.adapter('RefreshToken')
        await at.upsert('a1', { jti: 'a1', grantId: 'g1' }, 60)
        await rt.upsert('r1', { jti: 'r1', grantId: 'g1' }, 60)
        await at.upsert('a2', { jti: 'a2', grantId: 'g2' }, 60)
        await rt.revokeByGrantId('g1')
        assert.equal(await at.find('a1'), undefined)
        assert.equal(await rt.find('r1'), undefined)
        assert.ok(await at.find('a2'))
        await at.destroy('a2')
        assert.equal(await at.find('a2'), undefined)
      } finally {
        await storage.close()
      }
    })

    test('expired rows are invisible and purged; unused registrations are purged', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage } = await backend.open({ ...base(), unusedClientTtlSeconds: 0.1 })
      try {
        const at = storage.adapter('AccessToken')
        await at.upsert('short', { jti: 'short' }, 0.05)
        await at.upsert('long', { jti: 'long' }, 60)
        await storage.adapter('Client').upsert('c1', { client_id: 'c1' })
        await new Promise((resolve) => setTimeout(resolve, 150))
        assert.equal(await at.find('short'), undefined)
        assert.equal(await storage.purge(), 2)
        assert.ok(await at.find('long'))
        assert.equal(await storage.adapter('Client').find('c1'), undefined)
      } finally {
        await storage.close()
      }
    })

    test('server secrets are created once and shared by every instance on the same database', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage } = await backend.open(base())
      try {
        const first = await storage.loadSecret('jwks', () => 'one')
        const second = await storage.loadSecret('jwks', () => 'two')
        assert.equal(first, 'one')
        assert.equal(second, 'one')
      } finally {
        await storage.close()
      }
    })

    test('concurrent secret updates are applied one after the other, none lost', async (t) => {
      if (!need(t, backend.name, await backend.available())) return
      const { storage } = await backend.open(base())
      try {
        await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            storage.updateSecret('counter', (current) => JSON.stringify([...JSON.parse(current ?? '[]'), i])),
          ),
        )
        const values = JSON.parse(await storage.loadSecret('counter', () => '[]')) as number[]
        assert.deepEqual([...values].sort(), [0, 1, 2, 3, 4, 5, 6, 7])
      } finally {
        await storage.close()
      }
    })
  })
}

test('a short storage key is refused with a hint', () => {
  assert.throws(() => createSealer('short'), { code: 'storage_key_too_short' })
})

test('seals of one value never repeat an IV across refills of the IV buffer, and each opens back', () => {
  const sealer = createSealer(generateStorageKey())
  const seals = Array.from({ length: 700 }, () => sealer.seal('same secret'))
  const ivs = new Set(
    seals.map((s) => Buffer.from(s.slice('sealed:v1:'.length), 'base64url').subarray(0, 12).toString('hex')),
  )
  assert.equal(ivs.size, seals.length)
  for (const s of seals) assert.equal(sealer.open(s), 'same secret')
})
