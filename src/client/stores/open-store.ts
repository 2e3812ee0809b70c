/**
 * Choosing a token store: the OS keychain where it works, else encrypted files (said once per store directory),
 * or memory.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError, McpOAuthError, SPEC } from '../../shared/errors.ts'
import { defaultStoreDir, FileStore } from './file-store.ts'
import {
  type KeychainProbe,
  KeychainStore,
  type KeyringModule,
  keychainSecrets,
  loadKeyring,
  probeKeychain,
} from './keychain.ts'
import { MemoryStore, type TokenStore } from './store.ts'

/** Options of {@link openStore}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface OpenStoreOptions {
  /** `auto` (default): keychain if usable, else file. */
  kind?: 'keychain' | 'file' | 'memory' | 'auto'
  /** Store directory (file entries, lock files). Default `$XDG_CONFIG_HOME/mcp-oauth`. */
  dir?: string
  /** Where the one-line notices go. Default stderr. */
  log?: (line: string) => void
  /** Overrides for tests: the keychain probe and the keyring module. */
  probe?: () => Promise<KeychainProbe>
  keyring?: () => Promise<KeyringModule>
  /** Platform, for tests. */
  platform?: NodeJS.Platform
  /**
   * Only read (`mcp-oauth status`): create nothing (no directory, key, lock or notice marker); a file store that
   * does not exist yet reads as empty.
   */
  readOnly?: boolean
}

/**
 * Open the token store of `kind`. `auto` keeps an existing file store in `dir`; otherwise it picks the keychain
 * where a probe shows it works (except on Windows, whose credential blobs are too small for token sets, where the
 * keychain holds the file store's key instead), else the encrypted file store, and says so once per directory.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<TokenStore> {
  const kind = options.kind ?? 'auto'
  const dir = options.dir ?? defaultStoreDir()
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const probe = options.probe ?? (() => probeKeychain())
  const keyring = options.keyring ?? loadKeyring
  const platform = options.platform ?? process.platform
  const readOnly = options.readOnly ? { readOnly: true } : {}
  switch (kind) {
    case 'memory':
      return new MemoryStore()
    case 'keychain': {
      const p = await probe()
      if (!p.usable) {
        throw new McpOAuthError('keychain_unavailable', `the OS keychain is not usable: ${p.reason}`, {
          spec: SPEC.mcpSecurity,
          hint: 'start a desktop session (Secret Service on Linux), or use --store file',
        })
      }
      return new KeychainStore({ keyring: await keyring(), lockDir: join(dir, 'locks'), log })
    }
    case 'file': {
      const p = await keyFilePendingProbe(dir, probe)
      return new FileStore({
        dir,
        log,
        ...readOnly,
        ...(p?.usable ? { secrets: keychainSecrets(await keyring()) } : {}),
      })
    }
    case 'auto': {
      // Sticky: once a file store holds sessions here, keep using it (switching would strand them, and no
      // probe is then needed on every start).
      if (await exists(join(dir, 'store.json'))) {
        const p = await keyFilePendingProbe(dir, probe)
        return new FileStore({
          dir,
          log,
          ...readOnly,
          ...(p?.usable ? { secrets: keychainSecrets(await keyring()) } : {}),
        })
      }
      const p = await probe()
      if (p.usable && platform !== 'win32') {
        return new KeychainStore({ keyring: await keyring(), lockDir: join(dir, 'locks'), log })
      }
      const store = new FileStore({
        dir,
        log,
        announceKeyFile: false,
        ...readOnly,
        ...(p.usable ? { secrets: keychainSecrets(await keyring()) } : {}),
      })
      // A reader has nothing to announce: no token will be stored by it.
      if (!p.usable && !options.readOnly)
        await sayOnce(
          dir,
          `mcp-oauth: no usable OS keychain (${p.reason}); tokens are stored encrypted in ${dir}, its key in a 0600 key file there`,
          log,
        )
      return store
    }
    default:
      throw new InvalidArgumentError('invalid_store_kind', `unknown store kind: ${String(kind)}`, {
        hint: 'use keychain, file, memory or auto',
      })
  }
}

async function exists(path: string): Promise<boolean> {
  return await fs.stat(path).then(
    () => true,
    () => false,
  )
}

/** The file store needs the keychain only where its key is (or will be) there: skip the probe for a key-file store. */
async function keyFilePendingProbe(
  dir: string,
  probe: () => Promise<KeychainProbe>,
): Promise<KeychainProbe | undefined> {
  const meta = await fs.readFile(join(dir, 'store.json'), 'utf8').catch(() => undefined)
  if (meta?.includes('"key":"file"')) return undefined
  return await probe()
}

/** Log `line` unless this store directory already said it (a marker file records that). */
async function sayOnce(dir: string, line: string, log: (line: string) => void): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  try {
    await fs.writeFile(join(dir, 'store-choice-announced'), `${line}\n`, { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
  }
  log(line)
}
