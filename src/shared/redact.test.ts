import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redactInput, redactUrl, redactUrlsIn } from './redact.ts'

test('redactUrl drops userinfo, query and fragment, keeps scheme, host, port and path', () => {
  assert.equal(
    redactUrl('https://user:pw@host.example:8443/mcp?token=abc#frag'),
    'https://host.example:8443/mcp',
  )
  assert.equal(redactUrl(new URL('http://127.0.0.1:9/a/b?x=1')), 'http://127.0.0.1:9/a/b')
  assert.equal(redactUrl('https://host.example/?q=1'), 'https://host.example')
  assert.equal(redactUrl('https://user@host.example'), 'https://host.example')
  assert.equal(redactUrl('not a url ?token=abc'), 'not a url …')
})

test('text the URL parser refuses loses userinfo, query and fragment by position', () => {
  // Port 99999 makes these unparsable; a password may even hold '/'.
  assert.equal(
    redactUrl('https://alice:s3cret@mcp.example.com:99999/mcp'),
    'https://…@mcp.example.com:99999/mcp',
  )
  assert.equal(redactUrl('https://alice:s3/cret@h:99999/x?t=1'), 'https://…@h:99999/x…')
  assert.equal(redactInput('mcp.example.com/mcp?api_key=abc'), 'mcp.example.com/mcp…')
  assert.equal(redactInput('  u:p@mcp.example.com/mcp#k'), '…@mcp.example.com/mcp…')
  for (const s of ['alice', 's3cret', 'cret', 'api_key', 'abc']) {
    assert.ok(!redactUrlsIn(`not a URL: https://alice:s3/cret@h:99999/x?api_key=abc`).includes(s), s)
    assert.ok(!redactInput('https://alice:s3/cret@h:99999/x?api_key=abc').includes(s), s)
  }
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
