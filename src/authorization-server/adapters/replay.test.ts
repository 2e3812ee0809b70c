import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { errors } from 'oidc-provider'
import type { Adapter, AdapterPayload } from './contract.ts'
import { revokeGrantOnRacingRedemption } from './replay.ts'

/** Records every call; consume fails with `failure` and find answers `found`. */
function recordingStore(failure: Error | undefined, found: AdapterPayload | undefined) {
  const calls: string[] = []
  const factory = (model: string): Adapter => ({
    upsert: async () => {},
    find: async (id) => {
      calls.push(`${model}.find(${id})`)
      return found
    },
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    consume: async (id) => {
      calls.push(`${model}.consume(${id})`)
      if (failure) throw failure
    },
    destroy: async (id) => {
      calls.push(`${model}.destroy(${id})`)
    },
    revokeByGrantId: async (grantId) => {
      calls.push(`${model}.revokeByGrantId(${grantId})`)
    },
  })
  return { calls, factory }
}

describe('revokeGrantOnRacingRedemption', () => {
  it('a refused consume of a code revokes its grant everywhere, reports it, and refuses', async () => {
    const refusal = new errors.InvalidGrant('grant already consumed by a concurrent request')
    const { calls, factory } = recordingStore(refusal, { grantId: 'g1' })
    const reported: string[] = []
    const adapter = revokeGrantOnRacingRedemption(factory, (g) => reported.push(g))
    await assert.rejects(adapter('AuthorizationCode').consume('c1'), (e) => e === refusal)
    assert.deepEqual(reported, ['g1'])
    for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'AccessTokenGrant'])
      assert.ok(calls.includes(`${model}.revokeByGrantId(g1)`), model)
    assert.ok(calls.includes('Grant.destroy(g1)'))
  })

  it('device codes and CIBA requests are one-time too', async () => {
    for (const model of ['DeviceCode', 'BackchannelAuthenticationRequest']) {
      const { calls, factory } = recordingStore(new errors.InvalidGrant('x'), { grantId: 'g2' })
      const adapter = revokeGrantOnRacingRedemption(factory, () => {})
      await assert.rejects(adapter(model).consume('c'))
      assert.ok(calls.includes('Grant.destroy(g2)'), model)
    }
  })

  it('a code already gone (a third racer) revokes nothing and still refuses', async () => {
    const { calls, factory } = recordingStore(new errors.InvalidGrant('x'), undefined)
    const reported: string[] = []
    const adapter = revokeGrantOnRacingRedemption(factory, (g) => reported.push(g))
    await assert.rejects(adapter('AuthorizationCode').consume('c1'))
    assert.deepEqual(reported, [])
    assert.ok(!calls.some((c) => c.includes('revokeByGrantId') || c.includes('destroy')))
  })

  it('a storage failure is passed on without revoking anything', async () => {
    const outage = new Error('connection refused')
    const { calls, factory } = recordingStore(outage, { grantId: 'g1' })
    const adapter = revokeGrantOnRacingRedemption(factory, () => assert.fail('nothing was revoked'))
    await assert.rejects(adapter('AuthorizationCode').consume('c1'), (e) => e === outage)
    assert.deepEqual(calls, ['AuthorizationCode.consume(c1)'])
  })

  it('other models (refresh tokens: reuse has its own grace rules) are left as they are', async () => {
    const { factory } = recordingStore(new errors.InvalidGrant('x'), { grantId: 'g1' })
    const inner = factory('RefreshToken')
    const wrapped = revokeGrantOnRacingRedemption(
      () => inner,
      () => assert.fail('not revoked here'),
    )
    assert.equal(wrapped('RefreshToken'), inner)
  })
})
