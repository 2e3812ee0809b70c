import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { detectSsh, handoffInstructions, sshForwardCommand } from './handoff.ts'

describe('detectSsh', () => {
  it('reads the server address and port from SSH_CONNECTION', () => {
    assert.deepEqual(detectSsh({ SSH_CONNECTION: '203.0.113.9 50122 10.0.0.5 2222', USER: 'dev' }), {
      host: '10.0.0.5',
      port: 2222,
      user: 'dev',
    })
    assert.deepEqual(detectSsh({ SSH_CONNECTION: '::1 50122 fe80::1 22' }), { host: 'fe80::1', port: 22 })
  })
  it('knows an SSH session without the address from SSH_CLIENT or SSH_TTY, and none otherwise', () => {
    assert.deepEqual(detectSsh({ SSH_TTY: '/dev/pts/1', LOGNAME: 'ops' }), {
      host: '',
      port: 22,
      user: 'ops',
    })
    assert.equal(detectSsh({}), undefined)
    // A value that is no address is not put into a command line.
    assert.deepEqual(detectSsh({ SSH_CONNECTION: 'a b $(rm -rf) 22' }), undefined)
  })
})

describe('sshForwardCommand', () => {
  it('forwards the same port to the same loopback address', () => {
    assert.equal(
      sshForwardCommand(38123, '127.0.0.1', { host: '10.0.0.5', port: 22, user: 'dev' }),
      'ssh -L 38123:127.0.0.1:38123 -N dev@10.0.0.5',
    )
    assert.equal(
      sshForwardCommand(8765, 'localhost', { host: 'fe80::1', port: 2222 }),
      'ssh -L 8765:localhost:8765 -p 2222 -N [fe80::1]',
    )
    assert.equal(
      sshForwardCommand(8765, '::1', { host: '', port: 22 }),
      'ssh -L 8765:[::1]:8765 -N THIS-HOST',
    )
  })
  it('builds the instructions from the redirect URI', () => {
    const text = handoffInstructions(
      'http://127.0.0.1:40001/callback',
      { host: '10.0.0.5', port: 22 },
      'paste it.',
    )
    assert.match(text, /\n {2}ssh -L 40001:127\.0\.0\.1:40001 -N 10\.0\.0\.5\n/)
    assert.match(text, /No forward possible\? paste it\.$/)
  })
})
