/**
 * Token stores: memory, encrypted files, the OS keychain, and the chooser.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export { acquireFileLock, type FileLockOptions, type HeldLock } from './file-lock.ts'
export { defaultStoreDir, FileStore, type FileStoreOptions } from './file-store.ts'
export {
  type KeychainProbe,
  KeychainStore,
  type KeychainStoreOptions,
  type KeyringModule,
  keychainSecrets,
  probeKeychain,
  type SecretSource,
} from './keychain.ts'
export { type OpenStoreOptions, openStore } from './open-store.ts'
export {
  checkAccount,
  DEFAULT_ACCOUNT,
  MemoryStore,
  parseCurrentKey,
  type Release,
  type SetResult,
  type StoreEntry,
  storeKey,
  type TokenStore,
} from './store.ts'
