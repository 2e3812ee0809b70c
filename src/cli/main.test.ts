import assert from 'node:assert/strict'
import { test } from 'node:test'
import { COMMANDS, main } from './main.ts'

function capture() {
  let out = ''
  let err = ''
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  }
}

test('--help lists every command of the table on stdout; no arguments prints usage on stderr and exits 2', async () => {
  const help = capture()
  assert.equal(await main(['--help'], help.io), 0)
  for (const name of Object.keys(COMMANDS)) assert.match(help.out(), new RegExp(`\\b${name}\\b`))
  const bare = capture()
  assert.equal(await main([], bare.io), 2)
  assert.match(bare.err(), /Usage: mcp-oauth <command>/)
})

test('an unknown command goes to stderr with what to do next, exit 2', async () => {
  const c = capture()
  assert.equal(await main(['frobnicate'], c.io), 2)
  assert.equal(c.out(), '')
  assert.match(c.err(), /unknown command "frobnicate".*mcp-oauth --help/)
})

test('serve --help prints its usage; a bad option is a usage error naming the next step', async () => {
  const help = capture()
  assert.equal(await main(['serve', '--help'], help.io), 0)
  assert.match(help.out(), /--store SPEC/)
  const bad = capture()
  assert.equal(await main(['serve', '--no-such-option'], bad.io), 2)
  assert.match(bad.err(), /mcp-oauth serve: .*no-such-option[\s\S]*next: /)
  const port = capture()
  assert.equal(await main(['serve', '--port', 'x'], port.io), 2)
  assert.match(port.err(), /bad --port x[\s\S]*next: use 0\.\.65535/)
  const store = capture()
  assert.equal(
    await main(['serve', '--store', 'mysql://x', '--user', 'a:long enough pw', '--port', '0'], store.io),
    2,
  )
  assert.match(store.err(), /unknown store[\s\S]*next: use sqlite:PATH/)
  const upstream = capture()
  assert.equal(await main(['serve', '--upstream', 'https://idp.example', '--port', '0'], upstream.io), 2)
  assert.match(upstream.err(), /--upstream needs --upstream-client-id[\s\S]*next: /)
})

test('under npx, commands to run next name the package (npx -y mcp-oauth-toolkit …), never a bare mcp-oauth', async () => {
  const saved = process.env['npm_lifecycle_event']
  process.env['npm_lifecycle_event'] = 'npx'
  try {
    const c = capture()
    assert.equal(await main(['no-such-command'], c.io), 2)
    assert.match(c.err(), /Run `npx -y mcp-oauth-toolkit --help`/)
    assert.doesNotMatch(c.err(), /`mcp-oauth /)
    // The "mcp-oauth:" prefix of a line is a name, not a command: it stays.
    assert.match(c.err(), /^mcp-oauth: unknown command/)
  } finally {
    if (saved === undefined) delete process.env['npm_lifecycle_event']
    else process.env['npm_lifecycle_event'] = saved
  }
  const plain = capture()
  await main(['no-such-command'], plain.io)
  assert.match(plain.err(), /Run `mcp-oauth --help`/)
})
