/**
 * Where `mcp-oauth serve` and `mcp-oauth users` keep their data: the store named by `--store` and its sealing key.
 * @see https://specifications.freedesktop.org/basedir-spec/latest/
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  type AuthorizationServerStorage,
  createPostgresStorage,
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../authorization-server/index.ts'
import { appDirectory } from '../../shared/base-directories.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** Where the default SQLite store lives; empty variables count as unset. @see https://specifications.freedesktop.org/basedir-spec/latest/#variables */
export function dataDir(env: Record<string, string | undefined> = process.env): string {
  return env['MCP_OAUTH_DATA_DIR'] || appDirectory('data', env, homedir())
}

/** Opens the store named by `--store`, resolving the storage key (shared with `mcp-oauth users`). @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export async function openStore(
  spec: string | undefined,
): Promise<{ storage: AuthorizationServerStorage; kind: string }> {
  const envKey = process.env['MCP_OAUTH_STORAGE_KEY']
  if (spec === 'memory') {
    return {
      storage: await createSqliteStorage(':memory:', { sealer: createSealer(generateStorageKey()) }),
      kind: 'memory',
    }
  }
  if (spec?.startsWith('postgres://') || spec?.startsWith('postgresql://')) {
    if (!envKey) {
      throw usageError(
        'a PostgreSQL store needs MCP_OAUTH_STORAGE_KEY',
        'generate one with `openssl rand -base64 32 | tr "+/" "-_"` and give every instance the same value',
      )
    }
    return { storage: await createPostgresStorage(spec, { sealer: createSealer(envKey) }), kind: 'postgres' }
  }
  if (spec !== undefined && !spec.startsWith('sqlite:')) {
    throw usageError(
      `unknown store "${spec.slice(0, 40)}"`,
      'use sqlite:PATH, postgres://USER@HOST/DB or memory',
    )
  }
  const path = spec ? spec.slice('sqlite:'.length) : join(dataDir(), 'authorization-server.db')
  if (!path) throw usageError('sqlite: needs a file path', 'use e.g. --store sqlite:./as.db')
  // The key file is written before SQLite opens the database: its folder must exist first (private, 0700).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const storage = await createSqliteStorage(path, { sealer: createSealer(envKey ?? storageKeyBeside(path)) })
  return { storage, kind: 'sqlite' }
}

/** The key lives in a 0600 file next to the database, never inside it. */
function storageKeyBeside(path: string): string {
  const file = `${path}.key`
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const key = generateStorageKey()
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' })
  return key
}
