/**
 * Bounded native memory for the long-running `mcp-oauth serve`: glibc gives each thread that allocates (libuv's
 * crypto and hashing workers, V8's helper threads) its own malloc arena and keeps what they free, so a loaded
 * server's resident size grew by hundreds of MB and never came back while its JavaScript heap stayed flat.
 * Two arenas bound that; the variable must be set before the process starts, so `serve` re-executes itself
 * once (same PID, same arguments, same stdio) with it.
 * @see https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html
 */
import { basename } from 'node:path'

/** Arenas `serve` runs with unless the operator set `MALLOC_ARENA_MAX` themselves. */
export const SERVE_MALLOC_ARENAS = '2'

/**
 * Re-executes this process with `MALLOC_ARENA_MAX` set, when it was started as the `mcp-oauth` command on Linux
 * and the variable is unset; otherwise returns (and does nothing) so in-process callers are never replaced.
 * @see https://nodejs.org/api/process.html#processexecvefile-args-env
 */
export function boundMallocArenas(
  proc: Pick<NodeJS.Process, 'platform' | 'env' | 'argv' | 'execArgv' | 'execPath'> & {
    execve?: (file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never
  } = process,
): void {
  if (proc.platform !== 'linux' || proc.env['MALLOC_ARENA_MAX'] !== undefined) return
  if (typeof proc.execve !== 'function') return
  const script = proc.argv[1]
  if (!script || !/^mcp-oauth(\.js)?$/.test(basename(script))) return
  proc.execve(proc.execPath, [proc.execPath, ...proc.execArgv, ...proc.argv.slice(1)], {
    ...proc.env,
    MALLOC_ARENA_MAX: SERVE_MALLOC_ARENAS,
  })
}
