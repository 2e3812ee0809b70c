// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax --header values carry
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { shellQuote, signInCommandFor } from './sign-in-command.ts'

/** What a POSIX shell makes of `words`: the argument list a command printed in a hint gets. */
function shellWords(words: string): string[] {
  const out = execFileSync('sh', ['-c', `for a in ${words}; do printf '%s\\0' "$a"; done`], {
    encoding: 'utf8',
  })
  return out.split('\0').slice(0, -1)
}

describe('the sign-in command hints print', () => {
  it('shell-quotes so the printed words reach the program unchanged', () => {
    const hostile = [
      `it's`,
      'a b',
      '$HOME',
      '`id`',
      '"q"',
      '{"client_id":"x"}',
      'plain-1.2/x',
      'tools:read admin',
    ]
    assert.deepEqual(shellWords(hostile.map(shellQuote).join(' ')), hostile)
    assert.equal(shellQuote('https://mcp.example/mcp'), 'https://mcp.example/mcp')
  })

  it('names the URL as given with the flags that shaped the sign-in, and the step-up scope', () => {
    const command = signInCommandFor(
      'https://mcp.example/mcp',
      {
        'client-info': '{"client_id":"mcp-remote"}',
        'callback-port': '63113',
        'callback-host': 'localhost',
        'store-dir': '/tmp/a dir',
        store: 'file',
        resource: 'https://mcp.example',
        dpop: 'never',
        'allow-http': true,
        'device-code': true,
        'no-browser': true,
        verbose: true,
        header: ['Authorization: Bearer ${TOKEN}', 'X-Key: secret-value'],
      },
      { 'callback-path': '/oauth/callback' },
    )
    const text = command('tools:read admin')
    const m = /^`mcp-oauth login (.*)`$/.exec(text)
    assert.ok(m, text)
    assert.deepEqual(shellWords(m[1]!), [
      'https://mcp.example/mcp',
      '--client-info',
      '{"client_id":"mcp-remote"}',
      '--resource',
      'https://mcp.example',
      '--callback-port',
      '63113',
      '--callback-host',
      'localhost',
      '--callback-path',
      '/oauth/callback',
      '--allow-http',
      '--dpop',
      'never',
      '--store',
      'file',
      '--store-dir',
      '/tmp/a dir',
      '--header',
      'Authorization: Bearer ${TOKEN}',
      '--header',
      'X-Key: VALUE',
      '--scope',
      'tools:read admin',
    ])
    assert.doesNotMatch(text, /secret-value|--device-code|--no-browser|--verbose/)
    assert.doesNotMatch(command(undefined), /--scope/)
  })

  it('never prints a client secret, a query or userinfo', () => {
    const text = signInCommandFor('https://mcp.example/mcp?key=hunter2', {
      'client-info': '{"client_id":"c","client_secret":"s3cr3t"}',
    })('admin')
    assert.doesNotMatch(text, /hunter2|s3cr3t/)
    assert.match(
      text,
      /^`mcp-oauth login URL --client-info .* --scope admin` with URL the server URL you configured/,
    )
    assert.match(text, /https:\/\/mcp\.example\/mcp\?…, not shown here/)
  })
})
