/**
 * The "paste the URL your browser ended on" prompt for terminals without a browser (SSH): the person opens the
 * sign-in URL anywhere, and pastes the address of the page that failed to load at the loopback redirect.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import { createInterface } from 'node:readline/promises'
import type { CallbackVerdict } from './callback.ts'

/** Ask for callback URLs on `input`/`output` until `submit` accepts one or `signal` aborts. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export async function promptForCallback(options: {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  redirectUri: string
  submit: (url: URL) => CallbackVerdict['kind']
  signal: AbortSignal
}): Promise<void> {
  const rl = createInterface({ input: options.input, output: options.output, terminal: false })
  const say = (text: string) => options.output.write(`${text}\n`)
  try {
    say(
      `After approving, your browser goes to ${options.redirectUri}?… (the page may fail to load: that is expected).`,
    )
    for (;;) {
      const answer = (
        await rl.question('Paste the full URL from the address bar here: ', { signal: options.signal })
      ).trim()
      if (!answer) continue
      let url: URL
      try {
        url = new URL(answer)
      } catch {
        say('That is not a URL. Copy the whole address, starting with http://')
        continue
      }
      if (options.submit(url) !== 'wrong_state') return
      say('That URL belongs to no sign-in in progress. Use the newest sign-in link, then paste again.')
    }
  } catch (error) {
    if (options.signal.aborted) return
    throw error
  } finally {
    rl.close()
  }
}
