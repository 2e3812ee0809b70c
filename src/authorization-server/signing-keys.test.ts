import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compactVerify, createLocalJWKSet } from 'jose'
import { createSealer, generateStorageKey } from './adapters/sealing.ts'
import { createSqliteStorage } from './adapters/sqlite.ts'
import {
  activateSigningKeys,
  addSigningKeys,
  createSigningKeyRing,
  listSigningKeys,
  retireSigningKeys,
  type SigningKeyRing,
} from './signing-keys.ts'

async function signWith(key: { kid: string; alg: string; sign(data: Uint8Array): Promise<Uint8Array> }) {
  const header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid })).toString('base64url')
  const payload = Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64url')
  const signature = await key.sign(Buffer.from(`${header}.${payload}`))
  return `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`
}

test('the ring signs ES256 and RS256 with the active key, follows add/activate/retire, publishes no private member', async () => {
  const storage = await createSqliteStorage(':memory:', {
    sealer: createSealer(generateStorageKey()),
    purgeIntervalSeconds: 0,
  })
  const ring = await createSigningKeyRing(storage, { refreshSeconds: 0 })
  try {
    const [es, rs] = ring.providerKeys()
    const first = { es: es!.kid, rs: rs!.kid }
    for (const key of [es!, rs!]) {
      const jws = await signWith(key)
      const { protectedHeader } = await compactVerify(jws, createLocalJWKSet(ring.publicJwks()))
      assert.equal(protectedHeader.kid, key.kid)
    }
    for (const jwk of ring.publicJwks().keys)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'mcp_oauth_state'])
        assert.equal(jwk[member], undefined)

    const added = await addSigningKeys(storage)
    await assert.rejects(addSigningKeys(storage), { code: 'invalid_key_rotation' })
    await assert.rejects(retireSigningKeys(storage), { code: 'invalid_key_rotation' })
    await ring.refresh()
    assert.equal(ring.publicJwks().keys.length, 4)
    assert.equal(es!.kid, first.es, 'a next key does not sign')

    const oldToken = await signWith(es!)
    await activateSigningKeys(storage)
    await ring.refresh()
    const next = added.filter((k) => k.state === 'next')
    assert.equal(es!.kid, next.find((k) => k.alg === 'ES256')!.kid)
    assert.equal(rs!.kid, next.find((k) => k.alg === 'RS256')!.kid)
    await compactVerify(oldToken, createLocalJWKSet(ring.publicJwks()))
    assert.deepEqual((await listSigningKeys(storage)).map((k) => k.state).sort(), [
      'active',
      'active',
      'retiring',
      'retiring',
    ])

    // Too early: the retiring keys stopped signing a moment ago and their tokens may still be valid.
    await assert.rejects(retireSigningKeys(storage), (e: Error) => {
      assert.match(e.message, /stopped signing less than 660 s ago.*valid until \d{4}-/)
      return true
    })
    await assert.rejects(retireSigningKeys(storage, { now: () => Date.now() + 600_000 }), {
      code: 'invalid_key_rotation',
    })
    await retireSigningKeys(storage, { now: () => Date.now() + 661_000 })
    await ring.refresh()
    assert.equal(ring.publicJwks().keys.length, 2)
    await assert.rejects(compactVerify(oldToken, createLocalJWKSet(ring.publicJwks())))
    await compactVerify(await signWith(es!), createLocalJWKSet(ring.publicJwks()))
    await compactVerify(await signWith(rs!), createLocalJWKSet(ring.publicJwks()))
  } finally {
    ring.close()
    await storage.close()
  }
})

test('only the active key signs (or the one active until the last re-read), never a next or retiring key', async () => {
  const storage = await createSqliteStorage(':memory:', {
    sealer: createSealer(generateStorageKey()),
    purgeIntervalSeconds: 0,
  })
  const ring: SigningKeyRing = await createSigningKeyRing(storage, { refreshSeconds: 0 })
  try {
    const [es] = ring.providerKeys()
    const first = es!.kid
    const headerFor = (kid: string) => ({ kid, alg: 'ES256', sign: (d: Uint8Array) => es!.sign(d) })
    const next = (await addSigningKeys(storage)).find((k) => k.state === 'next' && k.alg === 'ES256')!.kid
    await ring.refresh()
    await assert.rejects(signWith(headerFor(next)), /not the active signing key/)
    await activateSigningKeys(storage)
    await ring.refresh()
    // The rotation race: a header written with the key active until this re-read still gets signed.
    await signWith(headerFor(first))
    await signWith(headerFor(next))
    // A further rotation: the first key is two generations old now and retiring, so it signs nothing.
    await addSigningKeys(storage)
    await activateSigningKeys(storage)
    await ring.refresh()
    await assert.rejects(signWith(headerFor(first)), /not the active signing key/)
  } finally {
    ring.close()
    await storage.close()
  }
})

test('ES256 signatures rewritten from DER verify every time, also when r or s has leading zero bytes', async () => {
  const storage = await createSqliteStorage(':memory:', {
    sealer: createSealer(generateStorageKey()),
    purgeIntervalSeconds: 0,
  })
  const ring = await createSigningKeyRing(storage, { refreshSeconds: 0 })
  try {
    const [es] = ring.providerKeys()
    const keys = createLocalJWKSet(ring.publicJwks())
    // A 31-byte r or s comes once in about 128 signatures: 1,500 make several of them all but certain.
    let short = 0
    for (let i = 0; i < 1500; i++) {
      const jws = await signWith(es!)
      const raw = Buffer.from(jws.split('.')[2]!, 'base64url')
      assert.equal(raw.length, 64)
      if (raw[0] === 0 || raw[32] === 0) short++
      await compactVerify(jws, keys)
    }
    assert.ok(short > 0, 'no signature with a leading zero byte in r or s was produced')
  } finally {
    ring.close()
    await storage.close()
  }
})
