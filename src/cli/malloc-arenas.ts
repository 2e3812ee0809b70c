/**
 * Bounded native memory for the long-running `mcp-oauth serve`: glibc gives each thread that allocates (libuv's
 * crypto and hashing workers, V8's helper threads) its own malloc arena and keeps what they free, so a loaded
 * server's resident size grew by hundreds of MB and never came back while its JavaScript heap stayed flat.
 * Two arenas bound that. A password hash (scrypt) allocates 8 MiB outside the heap: after the first one is freed,
 * glibc raises its mmap threshold above that size (its "dynamic threshold"), so later hashes come from the arenas
 * and each arena keeps one at its top (32 MB held after a burst of sign-ins); a fixed 1 MiB threshold returns
 * every block of 1 MiB or more as it is freed (bench/authorization-server/hash-memory.ts). The variables must be
 * set before the process starts, so `serve` re-executes itself once (same PID, same arguments, same stdio) with
 * them — only when that cannot fail: a failed execve aborts Node (SIGABRT) where no try/catch reaches, and the
 * permission model refuses it outright.
 * @see https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html
 */
import { accessSync, constants } from 'node:fs'
import { basename } from 'node:path'

/** The allocator settings `serve` runs with; any the operator set themselves is kept. @see https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html */
export const SERVE_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '1048576',
}

/**
 * The V8 flag `serve` runs with unless the operator sized the young generation: semi-spaces of at most 8 MB
 * instead of the default's growth up to tens of MB each (three are kept), which held about 90 MB of every
 * server's peak in bench:authorization-server, ours and oidc-provider's alike, for no measurable CPU.
 * @see https://v8.dev/blog/orinoco-parallel-scavenger
 */
export const SERVE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8']

/** The parts of `process` {@link boundMallocArenas} reads, injectable for tests. @see https://nodejs.org/api/process.html#processexecvefile-args-env */
export interface ReexecProcess
  extends Pick<NodeJS.Process, 'platform' | 'env' | 'argv' | 'execArgv' | 'execPath'> {
  execve?: (file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never
  /** Node's permission model; set when the process runs under `--permission`. */
  permission?: { has(scope: string, reference?: string): boolean } | undefined
}

/** Collaborators of {@link boundMallocArenas}, injectable for tests. @see https://nodejs.org/api/fs.html#fsaccesssyncpath-mode */
export interface ReexecDependencies {
  /** Throws unless the file may be executed (the `fs.accessSync(path, X_OK)` contract). */
  access: (file: string) => void
  /** Where the one-line fallback notice goes. */
  warn: (line: string) => void
}

const DEFAULTS: ReexecDependencies = {
  access: (file) => accessSync(file, constants.X_OK),
  warn: (line) => process.stderr.write(`${line}\n`),
}

/**
 * Re-executes this process with the {@link SERVE_MALLOC_ENV} variables it lacks and the {@link SERVE_V8_FLAGS}, when
 * it was started as the `mcp-oauth` command on Linux, one of them is missing, the permission model (if on) allows child processes and the
 * Node binary is still executable; otherwise returns so the caller runs as is (with a one-line notice when the
 * re-exec was wanted).
 * @see https://nodejs.org/api/process.html#processexecvefile-args-env
 */
export function boundMallocArenas(proc: ReexecProcess = process, deps: ReexecDependencies = DEFAULTS): void {
  const missing = Object.entries(SERVE_MALLOC_ENV).filter(([name]) => proc.env[name] === undefined)
  // After the re-exec the flag is in execArgv, so this runs once. V8 takes dashes or underscores, and refuses to
  // start (a fatal check) when a heap size comes with both generation sizes: an operator who sized the heap in
  // any of these ways keeps exactly their flags.
  const sized = /semi.space|heap.size/.test(`${proc.env['NODE_OPTIONS'] ?? ''} ${proc.execArgv.join(' ')}`)
  const flags = sized ? [] : SERVE_V8_FLAGS
  if (proc.platform !== 'linux' || (missing.length === 0 && flags.length === 0)) return
  // The way out where execve itself fails (a sandbox refusing exec), which aborts Node before any catch.
  if (proc.env['MCP_OAUTH_NO_REEXEC'] === '1') return
  if (typeof proc.execve !== 'function') return
  const script = proc.argv[1]
  if (!script || !/^mcp-oauth(\.js)?$/.test(basename(script))) return
  const settings = missing.map(([name, value]) => `${name}=${value}`).join(' ')
  const wanted = [settings, ...flags].filter(Boolean).join(' ')
  const how = [settings && `${settings} in the environment`, flags.length && `node ${flags.join(' ')}`]
    .filter(Boolean)
    .join(' and ')
  const fallBack = (why: string) =>
    deps.warn(
      `mcp-oauth serve: not re-executing with ${wanted} (${why}); resident memory may grow under load. Start it with ${how} to bound it.`,
    )
  // Under --permission, execve needs --allow-child-process and throws ERR_ACCESS_DENIED without it.
  if (proc.permission && !safeHas(proc.permission, 'child')) {
    fallBack('the permission model forbids it')
    return
  }
  try {
    // execve failing after the check aborts the process; checking first turns the common causes into a fallback.
    deps.access(proc.execPath)
  } catch {
    fallBack(`${proc.execPath} is not executable`)
    return
  }
  try {
    proc.execve(proc.execPath, [proc.execPath, ...flags, ...proc.execArgv, ...proc.argv.slice(1)], {
      ...proc.env,
      ...Object.fromEntries(missing),
    })
  } catch (error) {
    fallBack(error instanceof Error && 'code' in error ? String(error.code) : 'execve failed')
  }
}

function safeHas(permission: NonNullable<ReexecProcess['permission']>, scope: string): boolean {
  try {
    return permission.has(scope)
  } catch {
    return false
  }
}
