import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redactUrl, redactUrlsIn } from './redact.ts'

test('redactUrl drops userinfo, query and fragment, keeps scheme, host, port and path', () => {
  assert.equal(
    redactUrl('https://user:pw@host.example:8443/mcp?token=abc#frag'),
    'https://host.example:8443/mcp',
  )
  assert.equal(redactUrl(new URL('http://127.0.0.1:9/a/b?x=1')), 'http://127.0.0.1:9/a/b')
  assert.equal(redactUrl('https://host.example/?q=1'), 'https://host.example')
  assert.equal(redactUrl('https://user@host.example'), 'https://host.example')
  assert.equal(redactUrl('not a url ?token=abc'), '(invalid url)')
})

test('redactUrlsIn redacts every URL with secrets in free text and leaves the rest alone', () => {
  const text =
    'Error POSTing to https://u:secret@a.example/mcp?token=abc: failed, see https://b.example/docs. (http://c.example/x?k=v)'
  const out = redactUrlsIn(text)
  assert.equal(
    out,
    'Error POSTing to https://a.example/mcp: failed, see https://b.example/docs. (http://c.example/x)',
  )
  for (const secret of ['secret', 'u:', 'token=abc', 'k=v']) assert.ok(!out.includes(secret), secret)
  assert.equal(redactUrlsIn('no url here'), 'no url here')
})
