/**
 * A token store over the Web Storage API, for the engine in a browser page: `sessionStorage` (the default: the
 * tab's own, gone when it closes) or `localStorage`. It survives the page's redirect to the authorization server
 * and back, which an in-memory store does not. Generations make writes compare-and-swap within the page; tabs
 * sharing `localStorage` may race, as they would over any storage without locks.
 * @see https://html.spec.whatwg.org/multipage/webstorage.html
 */
import type { SetResult, StoreEntry, TokenStore } from './store.ts'

/** The part of the Web Storage interface the store uses. @see https://html.spec.whatwg.org/multipage/webstorage.html#the-storage-interface */
export interface WebStorage {
  readonly length: number
  key(index: number): string | null
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/** A {@link TokenStore} in Web Storage, every key under `prefix`. @see https://html.spec.whatwg.org/multipage/webstorage.html */
export class WebStorageStore implements TokenStore {
  readonly kind = 'web-storage'
  readonly #storage: WebStorage
  readonly #prefix: string

  constructor(storage: WebStorage, prefix = 'mcp-oauth:') {
    this.#storage = storage
    this.#prefix = prefix
  }

  async get<T>(key: string): Promise<StoreEntry<T> | undefined> {
    const raw = this.#storage.getItem(this.#prefix + key)
    if (raw === null) return undefined
    try {
      return JSON.parse(raw) as StoreEntry<T>
    } catch {
      // Something else wrote there: not ours to interpret, and not a session.
      return undefined
    }
  }

  async set(key: string, value: unknown, expectedGeneration?: number): Promise<SetResult> {
    const current = await this.get(key)
    if (expectedGeneration !== undefined && (current?.generation ?? 0) !== expectedGeneration)
      return { ok: false, current }
    const generation = (current?.generation ?? 0) + 1
    this.#storage.setItem(this.#prefix + key, JSON.stringify({ value, generation }))
    return { ok: true, generation }
  }

  async delete(key: string, expectedGeneration?: number): Promise<boolean> {
    const current = await this.get(key)
    if (!current) return false
    if (expectedGeneration !== undefined && current.generation !== expectedGeneration) return false
    this.#storage.removeItem(this.#prefix + key)
    return true
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    for (let i = 0; i < this.#storage.length; i++) {
      const k = this.#storage.key(i)
      if (k?.startsWith(this.#prefix + prefix)) keys.push(k.slice(this.#prefix.length))
    }
    return keys
  }
}
