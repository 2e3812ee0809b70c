import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { capture, seededStore } from './fixtures.test-helper.ts'
import { run } from './token.ts'

const A = 'https://a.example.com/mcp'

describe('mcp-oauth token', () => {
  it('prints the stored, still valid access token and nothing else on stdout', async () => {
    const { io, out } = capture()
    assert.equal(await run([A, '--store', 'memory'], io, { store: await seededStore(A) }), 0)
    assert.equal(out.stdout, 'SECRET-ACCESS-TOKEN\n')
    assert.equal(out.stderr, '')
  })

  it('says on stderr when the token is DPoP-bound', async () => {
    const { io, out } = capture()
    const store = await seededStore(A, { tokenType: 'DPoP' })
    assert.equal(await run([A, '--store', 'memory'], io, { store }), 0)
    assert.equal(out.stdout, 'SECRET-ACCESS-TOKEN\n')
    assert.match(out.stderr, /DPoP-bound/)
  })

  it('needs exactly one URL (exit 2)', async () => {
    for (const args of [[], [A, A]]) {
      const { io, out } = capture()
      assert.equal(await run(args, io), 2)
      assert.equal(out.stdout, '')
    }
  })
})
