/**
 * Encrypted files in the per-user config directory: one AES-256-GCM sealed file per entry (0600, written to a
 * temp file, fsynced and renamed), names derived with HMAC so they reveal nothing, the key in the OS keychain when
 * available or in a 0600 key file beside the entries. Compare-and-swap and `lock` hold across processes through
 * lock files; a corrupt file is moved aside with a warning.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { appDirectory } from '../../shared/base-directories.ts'
import { McpOAuthError, SPEC } from '../../shared/errors.ts'
import { acquireFileLock } from './file-lock.ts'
import type { SecretSource } from './keychain.ts'
import { renameReplacing } from './rename.ts'
import { deriveKeys, nameOf, seal, unseal } from './sealed.ts'
import type { Release, SetResult, StoreEntry, TokenStore } from './store.ts'

/**
 * The per-user config directory: `$XDG_CONFIG_HOME/mcp-oauth` (when set, non-empty and absolute),
 * `~/.config/mcp-oauth`, or `%APPDATA%\mcp-oauth` on Windows.
 * @see https://specifications.freedesktop.org/basedir-spec/latest/
 */
export function defaultStoreDir(env: Record<string, string | undefined> = process.env): string {
  return appDirectory('config', env, homedir())
}

/** Options of {@link FileStore}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface FileStoreOptions {
  /** Directory of the store. Default {@link defaultStoreDir}. */
  dir?: string
  /** Where the key goes when the OS keychain works; absent: a key file. */
  secrets?: SecretSource
  /** Where warnings go (one line each). Default stderr. */
  log?: (line: string) => void
  /** Say it when a key file is created (default true; `openStore` says it itself). */
  announceKeyFile?: boolean
  /**
   * Only read (`mcp-oauth status`): a store not created yet reads as empty and is not created (no directory, key
   * or lock file); writing throws.
   */
  readOnly?: boolean
}

interface Meta {
  version: 1
  key: 'file' | 'keychain'
  account?: string
}

interface Plain {
  key: string
  generation: number
  value: unknown
}

const WRITE_LOCK_TTL_MS = 10_000
const TEMP_MAX_AGE_MS = 60_000

/**
 * The encrypted file store. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export class FileStore implements TokenStore {
  readonly kind = 'file'
  /** The directory holding the store. */
  readonly dir: string
  readonly #secrets: SecretSource | undefined
  readonly #log: (line: string) => void
  readonly #announceKeyFile: boolean
  readonly #readOnly: boolean
  #keys: Promise<{ entries: Buffer; names: Buffer }> | undefined

  constructor(options: FileStoreOptions = {}) {
    this.dir = options.dir ?? defaultStoreDir()
    this.#secrets = options.secrets
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
    this.#announceKeyFile = options.announceKeyFile ?? true
    this.#readOnly = options.readOnly ?? false
  }

  /** Read-only and nothing created yet: reads answer "absent" without touching the disk. */
  async #absent(): Promise<boolean> {
    return this.#readOnly && !(await fs.stat(join(this.dir, 'store.json')).catch(() => undefined))
  }

  #writable(): void {
    if (this.#readOnly) throw storeError('this token store was opened read-only', undefined)
  }

  /** Where the key lives, once the store was opened: `file` or `keychain`. */
  async keyLocation(): Promise<'file' | 'keychain'> {
    await this.#ready()
    return (JSON.parse(await fs.readFile(join(this.dir, 'store.json'), 'utf8')) as Meta).key
  }

  #ready(): Promise<{ entries: Buffer; names: Buffer }> {
    this.#keys ??= this.#open()
    this.#keys.catch(() => {
      this.#keys = undefined
    })
    return this.#keys
  }

  async #open(): Promise<{ entries: Buffer; names: Buffer }> {
    await fs.mkdir(join(this.dir, 'entries'), { recursive: true, mode: 0o700 })
    await fs.mkdir(join(this.dir, 'locks'), { recursive: true, mode: 0o700 })
    // mkdir leaves an existing directory's mode alone: tighten a store directory made wider by hand or umask.
    for (const d of [this.dir, join(this.dir, 'entries'), join(this.dir, 'locks')]) {
      const st = await fs.stat(d)
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) await fs.chmod(d, 0o700).catch(() => {})
    }
    let meta = await this.#readMeta()
    if (!meta) {
      const held = await acquireFileLock(join(this.dir, 'locks', 'init.lock'), { ttlMs: WRITE_LOCK_TTL_MS })
      try {
        meta = (await this.#readMeta()) ?? (await this.#create())
      } finally {
        await held.release()
      }
    }
    const master = await this.#loadKey(meta)
    void this.#sweepTemps()
    return deriveKeys(master)
  }

  async #readMeta(): Promise<Meta | undefined> {
    let text: string
    try {
      text = await fs.readFile(join(this.dir, 'store.json'), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw storeError(`cannot read ${join(this.dir, 'store.json')}`, error)
    }
    try {
      const m = JSON.parse(text) as Meta
      if (m.version === 1 && (m.key === 'file' || m.key === 'keychain')) return m
    } catch {}
    await this.#moveAside(join(this.dir, 'store.json'), 'unrecognized store description')
    return undefined
  }

  /** First use of the directory: make a key and record where it lives. */
  async #create(): Promise<Meta> {
    const master = randomBytes(32).toString('base64url')
    let meta: Meta
    if (this.#secrets) {
      const account = `file-store-key ${this.dir}`
      const existing = await this.#secrets.get(account)
      if (!existing) await this.#secrets.set(account, master)
      meta = { version: 1, key: 'keychain', account }
    } else {
      const keyFile = join(this.dir, 'store.key')
      // A key file without a description (the description was damaged) is still the key of the entries: keep it.
      const existing = await fs.readFile(keyFile, 'utf8').catch(() => '')
      if (Buffer.from(existing.trim(), 'base64url').length !== 32) await writeAtomic(keyFile, master)
      if (this.#announceKeyFile)
        this.#log(
          `mcp-oauth: no OS keychain available; the token store's key is kept in ${keyFile} (mode 0600) beside the encrypted tokens`,
        )
      meta = { version: 1, key: 'file' }
    }
    await writeAtomic(join(this.dir, 'store.json'), JSON.stringify(meta))
    return meta
  }

  async #loadKey(meta: Meta): Promise<Buffer> {
    if (meta.key === 'keychain') {
      if (!this.#secrets) {
        throw new McpOAuthError(
          'store_key_unavailable',
          'the key of this token store is in the OS keychain, which is not reachable',
          {
            spec: SPEC.mcpSecurity,
            hint: 'unlock the keychain (a desktop session is needed on Linux), or use another store directory',
            details: { dir: this.dir },
          },
        )
      }
      const text = await this.#secrets.get(meta.account ?? `file-store-key ${this.dir}`)
      const key = text ? Buffer.from(text, 'base64url') : undefined
      if (key?.length === 32) return key
      throw new McpOAuthError(
        'store_key_missing',
        'the key of this token store is missing from the OS keychain',
        {
          spec: SPEC.mcpSecurity,
          hint: `remove ${join(this.dir, 'store.json')} to start a fresh store (you will sign in again)`,
          details: { dir: this.dir },
        },
      )
    }
    const keyFile = join(this.dir, 'store.key')
    let text = ''
    try {
      text = (await fs.readFile(keyFile, 'utf8')).trim()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw storeError(`cannot read ${keyFile}`, error)
    }
    const key = Buffer.from(text, 'base64url')
    if (key.length === 32) return key
    // The key is gone or damaged: keep what was there, start a new key; old entries get moved aside when read.
    if (text) await this.#moveAside(keyFile, 'damaged key file')
    else
      this.#log(
        `mcp-oauth: the token store key ${keyFile} is missing; a new one is made and older entries will be moved aside`,
      )
    const fresh = randomBytes(32).toString('base64url')
    await writeAtomic(keyFile, fresh)
    return Buffer.from(fresh, 'base64url')
  }

  #entryPath(name: string): string {
    return join(this.dir, 'entries', `${name}.json`)
  }

  /** Read and open one entry; a damaged file is moved aside (under the write lock) and reads as absent. */
  async #read(name: string, key: string | undefined, locked: boolean): Promise<Plain | undefined> {
    const path = this.#entryPath(name)
    let raw: string
    try {
      raw = await fs.readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return undefined
      await this.#quarantine(name, path, `unreadable (${code})`, locked, undefined)
      return undefined
    }
    const { entries } = await this.#ready()
    try {
      const plain = JSON.parse(unseal(entries, JSON.parse(raw), name).toString('utf8')) as Plain
      if ((key === undefined || plain.key === key) && Number.isInteger(plain.generation)) return plain
      throw new Error('entry does not match its name')
    } catch (error) {
      await this.#quarantine(name, path, (error as Error).message, locked, raw)
      return undefined
    }
  }

  async #quarantine(name: string, path: string, reason: string, locked: boolean, seen: string | undefined) {
    const move = async () => {
      // Only move what was judged: a writer may have replaced it meanwhile.
      const now = await fs.readFile(path, 'utf8').catch(() => undefined)
      if (seen === undefined || now === seen) await this.#moveAside(path, reason)
    }
    if (locked) return await move()
    const held = await acquireFileLock(join(this.dir, 'locks', `${name}.write`), { ttlMs: WRITE_LOCK_TTL_MS })
    try {
      await move()
    } finally {
      await held.release()
    }
  }

  async #moveAside(path: string, reason: string): Promise<void> {
    const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
    try {
      await fs.rename(path, aside)
      this.#log(
        `mcp-oauth: moved a damaged token store file aside (${reason}): ${aside}; you may need to sign in again`,
      )
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      this.#log(`mcp-oauth: a token store file is damaged (${reason}) and could not be moved aside: ${path}`)
    }
  }

  async #sweepTemps(): Promise<void> {
    const now = Date.now()
    for (const sub of ['entries', 'locks']) {
      const dir = join(this.dir, sub)
      for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!f.endsWith('.tmp') && !f.endsWith('.renew')) continue
        const s = await fs.stat(join(dir, f)).catch(() => undefined)
        if (s && now - s.mtimeMs > TEMP_MAX_AGE_MS) await fs.rm(join(dir, f), { force: true })
      }
    }
  }

  async get<T = unknown>(key: string): Promise<StoreEntry<T> | undefined> {
    if (await this.#absent()) return undefined
    const { names } = await this.#ready()
    const plain = await this.#read(nameOf(names, key), key, false)
    return plain ? { value: plain.value as T, generation: plain.generation } : undefined
  }

  async #withWriteLock<T>(key: string, fn: (name: string) => Promise<T>): Promise<T> {
    this.#writable()
    const { names } = await this.#ready()
    const name = nameOf(names, key)
    const held = await acquireFileLock(join(this.dir, 'locks', `${name}.write`), { ttlMs: WRITE_LOCK_TTL_MS })
    try {
      return await fn(name)
    } finally {
      await held.release()
    }
  }

  async set(key: string, value: unknown, expectedGeneration?: number): Promise<SetResult> {
    const text = JSON.stringify(value)
    if (text === undefined) throw storeError('store values must be JSON-serializable', undefined)
    return await this.#withWriteLock(key, async (name) => {
      const current = await this.#read(name, key, true)
      if (expectedGeneration !== undefined && (current?.generation ?? 0) !== expectedGeneration) {
        return {
          ok: false,
          current: current ? { value: current.value, generation: current.generation } : undefined,
        }
      }
      const generation = (current?.generation ?? 0) + 1
      const { entries } = await this.#ready()
      const plain = Buffer.from(JSON.stringify({ key, generation, value: JSON.parse(text) } satisfies Plain))
      await writeAtomic(this.#entryPath(name), JSON.stringify(seal(entries, plain, name)))
      return { ok: true, generation }
    })
  }

  async delete(key: string, expectedGeneration?: number): Promise<boolean> {
    return await this.#withWriteLock(key, async (name) => {
      const current = await this.#read(name, key, true)
      if (!current) return false
      if (expectedGeneration !== undefined && current.generation !== expectedGeneration) return false
      await fs.rm(this.#entryPath(name), { force: true })
      return true
    })
  }

  async lock(key: string, options: { ttlMs?: number; signal?: AbortSignal } = {}): Promise<Release> {
    this.#writable()
    const { names } = await this.#ready()
    const held = await acquireFileLock(join(this.dir, 'locks', `${nameOf(names, key)}.lock`), options)
    return () => held.release()
  }

  async list(prefix: string): Promise<string[]> {
    if (await this.#absent()) return []
    await this.#ready()
    const keys: string[] = []
    for (const f of await fs.readdir(join(this.dir, 'entries'))) {
      if (!/^[0-9a-f]{40}\.json$/.test(f)) continue
      const plain = await this.#read(f.slice(0, 40), undefined, false)
      if (plain?.key.startsWith(prefix)) keys.push(plain.key)
    }
    return keys.sort()
  }
}

/** Write `path` atomically with mode 0600: temp file, fsync, rename, fsync of the directory. */
async function writeAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await fs.open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await renameReplacing(temp, path)
  } catch (error) {
    await fs.rm(temp, { force: true })
    throw error
  }
  const dir = await fs.open(join(path, '..'), 'r').catch(() => undefined)
  await dir?.sync().catch(() => {})
  await dir?.close()
}

function storeError(message: string, cause: unknown): McpOAuthError {
  return new McpOAuthError('store_io_failed', message, {
    spec: SPEC.mcpAuth,
    cause,
    hint: 'check the permissions of the mcp-oauth config directory, or choose another with --store-dir',
  })
}
