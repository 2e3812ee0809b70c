import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { McpOAuthError } from './errors.ts'
import { formatChallenge, parseWwwAuthenticate, readMcpChallenge } from './www-authenticate.ts'

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge with quoted and token values', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="mcp", error=invalid_token, resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp"',
    )
    assert.equal(c?.scheme, 'bearer')
    assert.deepEqual(
      { ...c?.params },
      {
        realm: 'mcp',
        error: 'invalid_token',
        resource_metadata: 'https://a.example/.well-known/oauth-protected-resource/mcp',
      },
    )
  })

  it('unescapes quoted-pair sequences', () => {
    const [c] = parseWwwAuthenticate('Bearer error_description="say \\"hi\\", then \\\\ go"')
    assert.equal(c?.params['error_description'], 'say "hi", then \\ go')
  })

  it('splits several challenges in one header, including token68 and bare schemes', () => {
    const all = parseWwwAuthenticate(
      'Basic dXNlcjpwYXNz==, Negotiate, Bearer scope="a b", DPoP algs="ES256 PS256"',
    )
    assert.deepEqual(
      all.map((c) => c.scheme),
      ['basic', 'negotiate', 'bearer', 'dpop'],
    )
    assert.equal(all[0]?.token68, 'dXNlcjpwYXNz==')
    assert.equal(all[2]?.params['scope'], 'a b')
    assert.equal(all[3]?.params['algs'], 'ES256 PS256')
  })

  it('reads challenges spread over several header values and a Headers object', () => {
    const h = new Headers()
    h.append('WWW-Authenticate', 'DPoP algs="ES256", error="use_dpop_nonce"')
    h.append('WWW-Authenticate', 'Bearer resource_metadata="https://x.example/prm"')
    assert.deepEqual(
      parseWwwAuthenticate(h).map((c) => c.scheme),
      ['dpop', 'bearer'],
    )
    assert.equal(parseWwwAuthenticate(['Bearer a=1', 'Bearer b=2']).length, 2)
  })

  it('is case-insensitive in scheme and parameter names and tolerates BWS around "="', () => {
    const [c] = parseWwwAuthenticate('BEARER Scope = "x y" ,  Error = insufficient_scope')
    assert.equal(c?.scheme, 'bearer')
    assert.equal(c?.params['scope'], 'x y')
    assert.equal(c?.params['error'], 'insufficient_scope')
  })

  it('refuses malformed input with a typed error', () => {
    for (const bad of [
      'Bearer realm="unterminated',
      'Bearer a=1 b=2',
      'Bearer a=1, a=2',
      '"quoted"',
      'Bearer ="x"',
      'x'.repeat(20_000),
    ]) {
      assert.throws(
        () => parseWwwAuthenticate(bad),
        (e: unknown) => e instanceof McpOAuthError,
        bad.slice(0, 40),
      )
    }
  })
})

describe('readMcpChallenge', () => {
  it('picks Bearer by default and DPoP when preferred, sharing resource_metadata', () => {
    const header = 'DPoP algs="ES256", Bearer resource_metadata="https://x.example/prm", scope="files:read"'
    assert.equal(readMcpChallenge(header)?.scheme, 'bearer')
    const d = readMcpChallenge(header, { preferDpop: true })
    assert.equal(d?.scheme, 'dpop')
    assert.equal(d?.resource_metadata, 'https://x.example/prm')
    assert.equal(d?.algs, 'ES256')
  })
  it('returns undefined without a Bearer or DPoP challenge', () => {
    assert.equal(readMcpChallenge('Basic realm="x"'), undefined)
    assert.equal(readMcpChallenge(null), undefined)
  })
})

describe('formatChallenge', () => {
  it('round-trips through the parser, including quotes and backslashes', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), fc.string({ maxLength: 40 }), { maxKeys: 6 }),
        (params) => {
          const clean = Object.fromEntries(
            Object.entries(params).map(([k, v]) => [k, v.replace(/[\r\n]/g, ' ')]),
          )
          const [c] = parseWwwAuthenticate(formatChallenge('Bearer', clean))
          assert.equal(c?.scheme, 'bearer')
          assert.deepEqual({ ...c?.params }, clean)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('hostile input (property-based)', () => {
  const alphabet = fc.constantFrom(
    ...'Bearer DPoP Basic realm scope = , " \\ \t a-z0-9 ~+/=\r\n\u0000é'.split(''),
  )
  it('never throws anything but McpOAuthError and always terminates', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.array(alphabet, { maxLength: 300 }).map((a) => a.join('')),
        ),
        (s) => {
          try {
            parseWwwAuthenticate(s)
            readMcpChallenge(s)
          } catch (e) {
            assert.ok(e instanceof McpOAuthError, String(e))
            assert.equal((e as McpOAuthError).code, 'invalid_www_authenticate')
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
  it('parses a long run of commas and spaces in linear time', () => {
    const s = `Bearer a=1${', '.repeat(7000)}`
    assert.equal(parseWwwAuthenticate(s).length, 1)
  })
})

describe('readMcpChallenge with two schemes', () => {
  it('takes the challenge that carries the error, whichever scheme it is', () => {
    const h = 'Bearer error="insufficient_scope", scope="a b", DPoP algs="ES256"'
    assert.equal(readMcpChallenge(h, { preferDpop: true })?.error, 'insufficient_scope')
    assert.equal(readMcpChallenge(h, { preferDpop: true })?.scope, 'a b')
  })
})
