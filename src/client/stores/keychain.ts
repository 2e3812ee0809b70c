/**
 * The OS keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux) through `@napi-rs/keyring`:
 * a probe that cannot hang the caller, a secret source for the file store's key, and a TokenStore whose
 * compare-and-swap is made cross-process by file locks beside it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { McpOAuthError, SPEC } from '../../shared/errors.ts'
import { acquireFileLock } from './file-lock.ts'
import type { Release, SetResult, StoreEntry, TokenStore } from './store.ts'

/** The keychain service name every mcp-oauth entry is filed under. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export const KEYCHAIN_SERVICE = 'mcp-oauth'

/** The part of `@napi-rs/keyring` used here (tests inject a fake). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface KeyringModule {
  AsyncEntry: new (
    service: string,
    account: string,
    options?: { linux?: { store?: 'secret-service' | 'keyutils' } },
  ) => {
    getPassword(signal?: AbortSignal): Promise<string | null>
    setPassword(password: string, signal?: AbortSignal): Promise<void>
    deletePassword(signal?: AbortSignal): Promise<boolean>
  }
  findCredentialsAsync(
    service: string,
    target?: string | null,
    signal?: AbortSignal,
  ): Promise<Array<{ account: string; password: string }>>
}

/** Result of {@link probeKeychain}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export type KeychainProbe = { usable: true } | { usable: false; reason: string }

/**
 * On Linux only the Secret Service persists across logins; the kernel keyring (keyutils) forgets at logout,
 * which would strand encrypted files, so entries are pinned to the Secret Service.
 */
const ENTRY_OPTIONS = { linux: { store: 'secret-service' as const } }

const PROBE_SCRIPT = `
const url = process.argv[1];
import(url).then(async (k) => {
  process.stdout.write('ready\\n');
  const e = new k.AsyncEntry(process.argv[2], 'probe ' + process.pid, { linux: { store: 'secret-service' } });
  await e.setPassword('probe');
  const back = await e.getPassword();
  await e.deletePassword();
  process.stdout.write(back === 'probe' ? 'ok\\n' : 'mismatch\\n');
}).catch((err) => { process.stdout.write('error ' + String(err && err.message || err).split('\\n')[0] + '\\n'); });
`

// Out of process because it must be: with a D-Bus session bus that accepts but never answers, even the
// keyring's Entry constructor blocks the calling thread (observed with @napi-rs/keyring 2.1.2).
let probeCache: Promise<KeychainProbe> | undefined

/**
 * Whether the OS keychain works: a write/read/delete round trip in a child process, killed if the keychain
 * does not answer within `timeoutMs` of the child being ready (a hung Secret Service cannot block us).
 * Cached for the process.
 * @see https://specifications.freedesktop.org/secret-service-spec/latest/
 */
export function probeKeychain(
  options: { timeoutMs?: number; fresh?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<KeychainProbe> {
  if (options.env) return runProbe(options.timeoutMs ?? 1000, options.env)
  if (!probeCache || options.fresh) probeCache = runProbe(options.timeoutMs ?? 1000, process.env)
  return probeCache
}

function runProbe(timeoutMs: number, env: NodeJS.ProcessEnv): Promise<KeychainProbe> {
  let url: string
  try {
    url = import.meta.resolve('@napi-rs/keyring')
  } catch {
    return Promise.resolve({ usable: false, reason: '@napi-rs/keyring is not installed' })
  }
  return new Promise((resolve) => {
    // Reached at use: an ESM import of node:child_process costs every start, and a key-file store never probes.
    const { spawn } = process.getBuiltinModule('node:child_process')
    const child = spawn(process.execPath, ['-e', PROBE_SCRIPT, url, `${KEYCHAIN_SERVICE}-probe`], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env,
    })
    let out = ''
    let timer: NodeJS.Timeout | undefined
    const done = (result: KeychainProbe) => {
      clearTimeout(timer)
      clearTimeout(startCap)
      child.kill('SIGKILL')
      resolve(result)
    }
    // Starting Node itself may be slow on a loaded machine; only the keychain's own answer is held to timeoutMs.
    const startCap = setTimeout(() => done({ usable: false, reason: 'keychain probe did not start' }), 10_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      if (out.includes('ready\n') && !timer) {
        clearTimeout(startCap)
        timer = setTimeout(
          () => done({ usable: false, reason: `keychain did not answer within ${timeoutMs} ms` }),
          timeoutMs,
        )
      }
      if (out.includes('ok\n')) done({ usable: true })
      else {
        const line = out.split('\n').find((l) => l.startsWith('error ') || l === 'mismatch')
        if (line)
          done({
            usable: false,
            reason: line === 'mismatch' ? 'keychain returned another value' : line.slice(6),
          })
      }
    })
    child.on('error', (error) => done({ usable: false, reason: error.message }))
    child.on('exit', () => {
      if (!out.includes('ok\n')) done({ usable: false, reason: 'keychain probe exited without an answer' })
    })
  })
}

/** Load `@napi-rs/keyring`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export async function loadKeyring(): Promise<KeyringModule> {
  return (await import('@napi-rs/keyring')) as unknown as KeyringModule
}

/** A place for one small secret (the file store's key). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface SecretSource {
  get(account: string): Promise<string | null>
  set(account: string, secret: string): Promise<void>
}

const OP_TIMEOUT_MS = 5000

function keychainError(op: string, error: unknown): McpOAuthError {
  return new McpOAuthError('keychain_failed', `the OS keychain failed to ${op}`, {
    spec: SPEC.mcpSecurity,
    cause: error,
    hint: 'unlock the keychain, or choose the file store (--store file)',
  })
}

/** Secrets in the OS keychain, each call bounded by a timeout. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export function keychainSecrets(keyring: KeyringModule, service = KEYCHAIN_SERVICE): SecretSource {
  return {
    async get(account) {
      try {
        return await new keyring.AsyncEntry(service, account, ENTRY_OPTIONS).getPassword(
          AbortSignal.timeout(OP_TIMEOUT_MS),
        )
      } catch (error) {
        throw keychainError('read a secret', error)
      }
    },
    async set(account, secret) {
      try {
        await new keyring.AsyncEntry(service, account, ENTRY_OPTIONS).setPassword(
          secret,
          AbortSignal.timeout(OP_TIMEOUT_MS),
        )
      } catch (error) {
        throw keychainError('store a secret', error)
      }
    },
  }
}

/** Options of {@link KeychainStore}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface KeychainStoreOptions {
  keyring: KeyringModule
  /** Directory for the cross-process lock files (no secrets are written there). */
  lockDir: string
  service?: string
  /** Where warnings go (one line each). Default stderr. */
  log?: (line: string) => void
}

interface Stored {
  generation: number
  value: unknown
}

/**
 * Entries as keychain items (service `mcp-oauth`, account = store key, password = JSON with the generation).
 * The keychain has no compare-and-swap, so writes hold a per-key file lock.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export class KeychainStore implements TokenStore {
  readonly kind = 'keychain'
  readonly #keyring: KeyringModule
  readonly #service: string
  readonly #lockDir: string
  readonly #log: (line: string) => void

  constructor(options: KeychainStoreOptions) {
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
    this.#keyring = options.keyring
    this.#service = options.service ?? KEYCHAIN_SERVICE
    this.#lockDir = options.lockDir
  }

  #entry(key: string) {
    return new this.#keyring.AsyncEntry(this.#service, key, ENTRY_OPTIONS)
  }

  async #lockPath(key: string, suffix: string): Promise<string> {
    await fs.mkdir(this.#lockDir, { recursive: true, mode: 0o700 })
    return join(this.#lockDir, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.${suffix}`)
  }

  async #read(key: string): Promise<Stored | undefined> {
    let text: string | null
    try {
      text = await this.#entry(key).getPassword(AbortSignal.timeout(OP_TIMEOUT_MS))
    } catch (error) {
      throw keychainError('read an entry', error)
    }
    if (text === null) return undefined
    try {
      const s = JSON.parse(text) as Stored
      if (Number.isInteger(s.generation) && s.generation > 0 && 'value' in s) return s
    } catch {}
    // Never silently dropped: keep the unreadable item under a new name and say so.
    const aside = `${key} corrupt-${new Date().toISOString()}`
    try {
      await this.#entry(aside).setPassword(text, AbortSignal.timeout(OP_TIMEOUT_MS))
      await this.#entry(key).deletePassword(AbortSignal.timeout(OP_TIMEOUT_MS))
    } catch {
      this.#log(`mcp-oauth: the keychain entry "${key}" is unreadable and could not be moved aside`)
      return undefined
    }
    this.#log(
      `mcp-oauth: an unreadable keychain entry was moved aside to "${aside}"; you may need to sign in again`,
    )
    return undefined
  }

  async get<T = unknown>(key: string): Promise<StoreEntry<T> | undefined> {
    const s = await this.#read(key)
    return s ? { value: s.value as T, generation: s.generation } : undefined
  }

  async set(key: string, value: unknown, expectedGeneration?: number): Promise<SetResult> {
    const held = await acquireFileLock(await this.#lockPath(key, 'write'), { ttlMs: 15_000 })
    try {
      const current = await this.#read(key)
      if (expectedGeneration !== undefined && (current?.generation ?? 0) !== expectedGeneration) {
        return {
          ok: false,
          current: current ? { value: current.value, generation: current.generation } : undefined,
        }
      }
      const generation = (current?.generation ?? 0) + 1
      try {
        await this.#entry(key).setPassword(
          JSON.stringify({ generation, value }),
          AbortSignal.timeout(OP_TIMEOUT_MS),
        )
      } catch (error) {
        throw keychainError('store an entry', error)
      }
      return { ok: true, generation }
    } finally {
      await held.release()
    }
  }

  async delete(key: string, expectedGeneration?: number): Promise<boolean> {
    const held = await acquireFileLock(await this.#lockPath(key, 'write'), { ttlMs: 15_000 })
    try {
      const current = await this.#read(key)
      if (!current) return false
      if (expectedGeneration !== undefined && current.generation !== expectedGeneration) return false
      try {
        return await this.#entry(key).deletePassword(AbortSignal.timeout(OP_TIMEOUT_MS))
      } catch (error) {
        throw keychainError('delete an entry', error)
      }
    } finally {
      await held.release()
    }
  }

  async lock(key: string, options: { ttlMs?: number; signal?: AbortSignal } = {}): Promise<Release> {
    const held = await acquireFileLock(await this.#lockPath(key, 'lock'), options)
    return () => held.release()
  }

  async list(prefix: string): Promise<string[]> {
    let found: Array<{ account: string }>
    try {
      found = await this.#keyring.findCredentialsAsync(
        this.#service,
        null,
        AbortSignal.timeout(OP_TIMEOUT_MS),
      )
    } catch (error) {
      throw keychainError('list entries', error)
    }
    return found.map((c) => c.account).filter((a) => a.startsWith(prefix) && !/ corrupt-\d{4}-/.test(a))
  }
}
