/**
 * The contracts of the SQL storage: oidc-provider's Adapter, what the authorization server needs of its
 * storage, and the few statements a SQL dialect's driver runs for it (sql.ts implements them over a driver).
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter
 */

import type { SharedCounters } from '../counters.ts'
import type { Sealer } from './sealing.ts'

/** The few statements the adapter needs; `?` placeholders, the driver rewrites them for its dialect. */
export interface SqlDriver {
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>
  /** Runs a query and returns its rows. */
  all(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>
  /**
   * Runs `first` and, only when it changed a row, `second`, plus every `alongside` statement unconditionally,
   * as one atomic step; returns the rows `first` changed. In `second`, {@link FIRST_CHANGED} stands for that
   * condition (SQLite: a transaction; PostgreSQL: one statement of data-modifying CTEs).
   */
  runChained(first: SqlStatement, second: SqlStatement, alongside?: readonly SqlStatement[]): Promise<number>
  /** Runs several statements (schema setup). */
  exec(sql: string): Promise<void>
  /** Releases connections. */
  close(): Promise<void>
}

/** A value bound to a placeholder. */
export type SqlValue = string | number | null

/** A statement with its `?` parameters. @see https://www.sqlite.org/lang_expr.html#varparam */
export interface SqlStatement {
  sql: string
  params?: SqlValue[]
}

/** Placeholder, in the second statement of {@link SqlDriver.runChained}, for "the first one changed a row". */
export const FIRST_CHANGED = '/*first_changed*/'

/** The payload oidc-provider hands to and expects from an adapter. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export type AdapterPayload = Record<string, unknown>

/** oidc-provider's Adapter contract. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export interface Adapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>
  find(id: string): Promise<AdapterPayload | undefined>
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>
  findByUid(uid: string): Promise<AdapterPayload | undefined>
  /** A one-time grant source (a code) already consumed is refused with oidc-provider's InvalidGrant. */
  consume(id: string): Promise<void>
  destroy(id: string): Promise<void>
  revokeByGrantId(grantId: string): Promise<void>
}

/** What the storage layer offers the authorization server. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter */
export interface AuthorizationServerStorage {
  /** Adapter factory handed to oidc-provider's `adapter` option. */
  adapter: (model: string) => Adapter
  /** Returns the named server secret (signing keys, cookie keys), creating it once across all instances. */
  loadSecret(name: string, create: () => string): Promise<string>
  /** Replaces the named secret with `update(current)`, atomically against other instances (retried on a race). */
  updateSecret(name: string, update: (current: string | undefined) => string): Promise<string>
  /** Deletes expired artifacts and registrations unused for too long; returns the rows removed. */
  purge(): Promise<number>
  /** Rate-limit counters and DPoP replay markers in the same database, shared by every instance on it. */
  counters?: SharedCounters
  /** Stops the purge timer and closes connections. */
  close(): Promise<void>
}

/** Storage tuning shared by every SQL backend. @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 */
export interface SqlStorageOptions {
  /** Key (≥ 32 bytes) from which identifier hashes and secret seals derive; keep it outside the database. */
  sealer: Sealer
  /** Table name prefix, letters, digits and `_` (default `mcp_oauth_`). */
  tablePrefix?: string
  /**
   * Seconds after a refresh token is rotated during which presenting it again (a retry whose answer was lost,
   * or a concurrent refresh by the same client) returns the successor already issued, never a new one. After
   * that, reuse revokes the whole grant. 0 makes every reuse revoke. Default 30 (long enough for a retry
   * across a restart of the server).
   */
  refreshReuseGraceSeconds?: number
  /** Dynamically registered clients unused this many seconds are deleted. Default 30 days; 0 disables. */
  unusedClientTtlSeconds?: number
  /** How often expired rows are purged, in seconds. Default 300; 0 disables the timer. */
  purgeIntervalSeconds?: number
  /** Clock in ms since the epoch for expiry and the grace window (default `Date.now`; tests move it). */
  now?: () => number
}
