/**
 * How long a fetched metadata document stays fresh (RFC 9111): what discovery's cache keeps, bounded to a day.
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-4.2
 */

/** How long metadata without caching headers is kept. @see https://www.rfc-editor.org/rfc/rfc9111#section-4.2.2 */
export const DEFAULT_TTL_MS = 60 * 60 * 1000
const MAX_TTL_MS = 24 * 60 * 60 * 1000

/** Freshness from Cache-Control / Expires, bounded to a day; `no-store`/`no-cache` → 0. @see https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1 */
export function freshnessMs(headers: Record<string, string> | undefined): number {
  const cc = headers?.['cache-control']?.toLowerCase() ?? ''
  if (/\bno-store\b|\bno-cache\b/.test(cc)) return 0
  const m = /\bmax-age=(\d+)/.exec(cc)
  if (m) return Math.min(Number(m[1]) * 1000, MAX_TTL_MS)
  const expires = headers?.['expires']
  if (expires) {
    const t = Date.parse(expires) - Date.now()
    if (Number.isFinite(t)) return Math.max(0, Math.min(t, MAX_TTL_MS))
  }
  return DEFAULT_TTL_MS
}
