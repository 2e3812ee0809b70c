import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCors, checkMcpCors } from './cors.ts'

const O = 'https://client.example'
const url = 'https://mcp.example.com/mcp'

describe('CORS checks', () => {
  it('metadata: * or the origin passes, anything else is the cors_missing warning', () => {
    const [a, b, c] = checkCors(
      [
        { id: 'cors.prm', what: 'PRM', url, status: 200, allowOrigin: '*' },
        { id: 'cors.as', what: 'AS', url, status: 200, allowOrigin: 'https://other.example' },
        { id: 'cors.x', what: 'X', url, status: 200 },
      ],
      O,
    )
    assert.equal(a?.status, 'pass')
    assert.equal(b?.diagnosis, 'cors_missing')
    assert.equal(c?.status, 'warn')
  })

  it('MCP endpoint: needs Authorization in the preflight and WWW-Authenticate exposed on the 401', () => {
    const good = {
      url,
      preflight: { status: 204, allowOrigin: '*', allowHeaders: 'Authorization, Content-Type' },
      challenge: { status: 401, allowOrigin: '*', exposeHeaders: 'WWW-Authenticate' },
    }
    assert.equal(checkMcpCors(good, O).status, 'pass')
    const noAuthHeader = { ...good, preflight: { ...good.preflight, allowHeaders: '*' } }
    assert.match(checkMcpCors(noAuthHeader, O).detail, /Authorization header/)
    const hidden = { ...good, challenge: { status: 401, allowOrigin: '*', exposeHeaders: undefined } }
    const c = checkMcpCors(hidden, O)
    assert.equal(c.status, 'warn')
    assert.equal(c.diagnosis, 'cors_missing')
    assert.match(c.detail, /does not expose WWW-Authenticate/)
    assert.equal(checkMcpCors({ url, error: new Error('x') }, O).status, 'info')
  })
})
