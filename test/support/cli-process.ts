/**
 * A spawned `mcp-oauth` command as the CLI tests drive it: everything it prints collected, each sign-in URL it
 * prints handed to the test's person (one at a time, in order), killed when it hangs.
 */
import type { ChildProcess } from 'node:child_process'

/** What a finished `mcp-oauth` process printed. */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** How {@link watchCli} treats the sign-in URLs the process prints. */
export interface CliWatch<R extends CliRun> {
  /** Completes one sign-in URL (the process waits on its loopback callback meanwhile). */
  person?: (url: string, run: R) => Promise<unknown>
  /** Hand only the first URL printed to the person (default: every new one). */
  firstOnly?: boolean
  /** Called with each stdout chunk after it is added to `run.stdout`. */
  onStdout?: (run: R) => void
  /** Called once the process exited, before the person is waited for. */
  onExit?: (run: R) => void
}

const SIGN_IN_URL = /open this URL in a browser:\n\s+(\S+)/g

/**
 * Collect `child`'s output into `run`, drive its sign-ins, and resolve `run` once the process exited and the
 * person finished; reject when it runs over 60 s (killing it) or a sign-in failed.
 */
export function watchCli<R extends CliRun>(
  child: ChildProcess,
  args: string[],
  run: R,
  watch: CliWatch<R> = {},
): Promise<R> {
  const driven = new Set<string>()
  let person: Promise<unknown> = Promise.resolve()
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    run.stdout += d
    watch.onStdout?.(run)
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    run.stderr += d
    const signIn = watch.person
    if (!signIn) return
    for (const m of run.stderr.matchAll(SIGN_IN_URL)) {
      const url = m[1]!
      if (driven.has(url) || (watch.firstOnly && driven.size > 0)) continue
      driven.add(url)
      person = person.then(() => signIn(url, run))
    }
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`mcp-oauth ${args.join(' ')} did not exit:\n${run.stderr}`))
    }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      run.code = code
      watch.onExit?.(run)
      person.then(
        () => resolve(run),
        (e: Error) => reject(new Error(`sign-in: ${e.message}\nCLI stderr:\n${run.stderr}`)),
      )
    })
  })
}
