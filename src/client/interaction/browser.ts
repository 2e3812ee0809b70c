/**
 * Opening the person's browser, only where there is a screen to open it on, or with the command `$BROWSER` names.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */
import { delimiter } from 'node:path'

/** Whether a graphical browser can be shown: always on macOS and Windows, on Linux/BSD when DISPLAY or WAYLAND_DISPLAY is set. @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1 */
export function hasDisplay(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (platform === 'darwin' || platform === 'win32') return true
  return Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY'])
}

/**
 * The commands of a `$BROWSER` value, each as its words: commands are separated by `separator` (the PATH
 * delimiter, as Python's webbrowser does) and words are split like a POSIX shell would, quotes and backslashes
 * included (backslashes stay literal with Windows' `;`: they are its path separator), but nothing is expanded:
 * the value is never given to a shell.
 * @see https://docs.python.org/3/library/webbrowser.html
 */
export function parseBrowserCommands(value: string, separator: string = delimiter): string[][] {
  const commands: string[][] = []
  let words: string[] = []
  let word: string | undefined
  let quote: '"' | "'" | undefined
  const endWord = () => {
    if (word !== undefined) words.push(word)
    word = undefined
  }
  const endCommand = () => {
    endWord()
    if (words.length) commands.push(words)
    words = []
  }
  const escapes = separator !== ';'
  const add = (text: string) => {
    word = (word ?? '') + text
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    const next = value[i + 1]
    if (quote === "'") {
      if (c === "'") quote = undefined
      else add(c)
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (escapes && c === '\\' && next !== undefined && '"\\$`'.includes(next)) add(value[++i]!)
      else add(c)
    } else if (c === "'" || c === '"') {
      quote = c
      add('')
    } else if (escapes && c === '\\' && next !== undefined) {
      add(value[++i]!)
    } else if (c === separator) {
      endCommand()
    } else if (/\s/.test(c)) {
      endWord()
    } else {
      add(c)
    }
  }
  endCommand()
  return commands
}

/** One `$BROWSER` command made concrete: `%s` in any word stands for the URL, else the URL is the last argument. @see https://docs.python.org/3/library/webbrowser.html */
export function browserArguments(words: readonly string[], url: URL): [string, ...string[]] {
  const [file, ...rest] = words as [string, ...string[]]
  const args = rest.some((a) => a.includes('%s'))
    ? rest.map((a) => a.replaceAll('%s', url.href))
    : [...rest, url.href]
  return [file, ...args]
}

// A browser launcher that fails says so within this time (exit status); a browser that stays open is a success.
const SETTLE_MS = 250

/** Run one command without a shell; resolves once it runs (or exited 0), rejects if it could not start or failed. */
function launch([file, ...args]: readonly [string, ...string[]]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Reached at use: an ESM import of node:child_process costs every start, and most never open a browser.
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn(file, args, { stdio: 'ignore', detached: true, shell: false })
    const timer = setTimeout(() => {
      child.unref()
      resolve()
    }, SETTLE_MS)
    timer.unref()
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`${file}: ${(error as NodeJS.ErrnoException).code ?? error.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`${file} exited with ${signal ?? `status ${code}`}`))
    })
  })
}

/**
 * Open `url` with each command of `$BROWSER` in turn until one starts (and does not fail at once). Errors name
 * the commands, never the URL (it carries the state and PKCE challenge).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */
async function openWithBrowserVariable(url: URL, value: string): Promise<void> {
  const failures: string[] = []
  for (const words of parseBrowserCommands(value)) {
    try {
      await launch(browserArguments(words, url))
      return
    } catch (error) {
      failures.push((error as Error).message)
    }
  }
  throw new Error(`BROWSER could not open the page (${failures.join('; ') || 'no command in it'})`)
}

/**
 * Open `url` in the person's browser: with `$BROWSER` when it is set (a command, or a list of them separated
 * like PATH, tried in order; `%s` stands for the URL), else the system browser through the `open` package (it
 * knows xdg-open, `open`, `start` and WSL). Resolves once the browser was started, rejects if it could not be.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */
export async function openBrowser(
  url: URL,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const variable = env['BROWSER']?.trim()
  if (variable) return await openWithBrowserVariable(url, variable)
  const { default: open } = await import('open')
  const child = await open(url.href, { wait: false })
  await new Promise<void>((resolve, reject) => {
    // `open` resolves after spawn; a missing opener binary surfaces as an 'error' event right after.
    const timer = setTimeout(resolve, SETTLE_MS)
    timer.unref()
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
  child.unref()
}
