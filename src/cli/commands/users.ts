/**
 * `mcp-oauth users`: local accounts of the authorization server run by `mcp-oauth serve`, kept in its store
 * (scrypt hashes; usernames hashed like every identifier).
 * @see https://www.rfc-editor.org/rfc/rfc7914
 */
import { randomBytes } from 'node:crypto'
import { text } from 'node:stream/consumers'
import { parseArgs } from 'node:util'
import { createStoredUsers } from '../../authorization-server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import type { CliIo } from '../main.ts'
import { openStore } from './serve.ts'

/** Usage of `mcp-oauth users`. */
export const usage = `Usage: mcp-oauth users add NAME [--display-name TEXT] [--password-stdin] [--store SPEC]
       mcp-oauth users remove NAME [--store SPEC]

Manages the local accounts of \`mcp-oauth serve\` in its store (same --store and MCP_OAUTH_STORAGE_KEY as serve).
add: the password is read from stdin with --password-stdin, else generated and printed on stderr.`

/** Runs `mcp-oauth users`. @see https://www.rfc-editor.org/rfc/rfc7914 */
export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      'display-name': { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
  })
  const [action, name] = positionals
  if ((action !== 'add' && action !== 'remove') || !name || positionals.length !== 2) {
    throw new InvalidArgumentError('invalid_argument', 'expected `users add NAME` or `users remove NAME`', {
      hint: 'run `mcp-oauth users --help`',
    })
  }
  const { storage } = await openStore(values.store)
  try {
    const users = await createStoredUsers(storage)
    if (action === 'remove') {
      const existed = await users.remove(name)
      io.stderr.write(existed ? `mcp-oauth users: removed ${name}\n` : `mcp-oauth users: no user ${name}\n`)
      return existed ? 0 : 1
    }
    let password: string
    if (values['password-stdin']) {
      password = (await text(process.stdin)).replace(/\r?\n$/, '')
    } else {
      password = randomBytes(12).toString('base64url')
      io.stderr.write(`mcp-oauth users: generated password for ${name}: ${password}\n`)
    }
    await users.set(name, password, values['display-name'])
    io.stderr.write(`mcp-oauth users: saved ${name}\n`)
    return 0
  } finally {
    await storage.close()
  }
}
