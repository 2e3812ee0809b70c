import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../shared/errors.ts'
import { beginAuthorization, completeAuthorization } from './authorization-callback.ts'
import { world } from './authorization-world.test-helper.ts'
import type { AuthorizeContext } from './authorizer.ts'
import { Session } from './session.ts'
import { MemoryStore } from './stores/store.ts'

const context = (state: string) => ({ state }) as AuthorizeContext

describe('sign-in across requests', () => {
  it('an in-process sign-in leaves no pending request behind when the wait fails or the state is another', async () => {
    const w = world()
    const store = new MemoryStore()
    const failing = {
      redirectUri: 'http://127.0.0.1:1/cb',
      authorize: async () => Promise.reject(new Error('closed')),
    }
    await assert.rejects(
      new Session({ ...w.options({ store }), authorizer: failing }).authorize({ reason: 'login' }),
    )
    assert.deepEqual(await store.list('pending '), [])
    const inner = w.options({ store }).authorizer!
    const other = {
      ...inner,
      async authorize(u: URL, c: AuthorizeContext) {
        const cb = await inner.authorize(u, c)
        cb.searchParams.set('state', 'another')
        return cb
      },
    }
    await assert.rejects(
      new Session({ ...w.options({ store }), authorizer: other }).authorize({ reason: 'login' }),
    )
    assert.deepEqual(await store.list('pending '), [])
  })

  it('an authorizer slower than the pending lifetime still signs in (the in-process flow holds its verifier)', async () => {
    const w = world()
    const base = w.options()
    const inner = base.authorizer!
    const slow = {
      ...inner,
      pendingTtlMs: 20,
      async authorize(u: URL, c: AuthorizeContext) {
        await new Promise((r) => setTimeout(r, 60))
        return inner.authorize(u, c)
      },
    }
    const tokens = await new Session({ ...base, authorizer: slow }).authorize({ reason: 'login' })
    assert.ok(tokens.access_token)
  })

  it('expectedState refuses another sign-in’s callback without taking it', async () => {
    const w = world()
    const store = new MemoryStore()
    const { authorizer, ...options } = w.options({ store })
    const begun = await beginAuthorization({ ...options, store, redirectUri: 'http://127.0.0.1:1/cb' })
    assert.equal(begun.kind, 'redirect')
    if (begun.kind !== 'redirect') return
    const callback = await authorizer!.authorize(begun.url, context(begun.state))
    await assert.rejects(
      completeAuthorization({ store, fetch: options.fetch, expectedState: 'not-this-one' }, callback),
      (e) => isMcpOAuthError(e, 'authorization_state_mismatch'),
    )
    const session = await completeAuthorization(
      { store, fetch: options.fetch, expectedState: begun.state },
      callback,
    )
    assert.equal((await session.status()).signed_in, true)
  })

  it('completing replaces the account’s previous session under another client', async () => {
    const w = world()
    const store = new MemoryStore()
    await new Session(w.options({ store })).authorize({ reason: 'login' })
    for (const k of await store.list('registration')) await store.delete(k)
    const { authorizer, ...options } = w.options({ store })
    const begun = await beginAuthorization({ ...options, store, redirectUri: 'http://127.0.0.1:1/cb' })
    if (begun.kind !== 'redirect') throw new Error('expected a redirect')
    await completeAuthorization(
      { store, fetch: options.fetch },
      await authorizer!.authorize(begun.url, context(begun.state)),
    )
    assert.equal((await store.list('session ')).length, 1)
  })

  it('a refused resource parameter is remembered, so the next begin succeeds', async () => {
    const w = world({ refuseResource: true })
    const store = new MemoryStore()
    const { authorizer, ...options } = w.options({ store })
    const attempt = async () => {
      const begun = await beginAuthorization({ ...options, store, redirectUri: 'http://127.0.0.1:1/cb' })
      if (begun.kind !== 'redirect') throw new Error('expected a redirect')
      return completeAuthorization(
        { store, fetch: options.fetch },
        await authorizer!.authorize(begun.url, context(begun.state)),
      )
    }
    await assert.rejects(attempt(), (e) => isMcpOAuthError(e) && /begin the sign-in again/.test(e.hint))
    assert.equal((await (await attempt()).status()).signed_in, true)
  })
})
