/**
 * Showing an RFC 8628 device code on stderr with a countdown; the engine does the protocol and the polling.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
 */
import type { DeviceCodePrompt } from '../authorizer.ts'

/** Where the prompt is written (stderr by default). @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3 */
export interface PromptOutput {
  write(text: string): unknown
  isTTY?: boolean
}

/** `m:ss` for a number of seconds. @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3 */
export function formatRemaining(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/**
 * Print the code and where to enter it; on a terminal keep one line counting down until the code expires or
 * `stop` is called. Returns `stop`.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
 */
export function presentDeviceCode(
  prompt: DeviceCodePrompt,
  resource: string,
  out: PromptOutput,
  options: { signal?: AbortSignal; now?: () => number } = {},
): () => void {
  const now = options.now ?? Date.now
  const expiresAt = now() + prompt.expires_in * 1000
  const lines = [
    `To sign in to ${resource}, open ${prompt.verification_uri} on any device and enter the code:`,
    '',
    `    ${prompt.user_code}`,
    '',
  ]
  if (prompt.verification_uri_complete) lines.push(`Or open ${prompt.verification_uri_complete}`)
  lines.push(
    `The code expires in ${formatRemaining(prompt.expires_in)} (at ${new Date(expiresAt).toLocaleTimeString()}).`,
  )
  out.write(`${lines.join('\n')}\n`)
  if (!out.isTTY) return () => {}
  let stopped = false
  const tick = () => {
    const left = (expiresAt - now()) / 1000
    out.write(`\r\u001b[2K  waiting for approval… ${formatRemaining(left)} left`)
    if (left <= 0) stop()
  }
  const timer = setInterval(tick, 1000)
  timer.unref()
  const stop = () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    out.write('\r\u001b[2K')
    options.signal?.removeEventListener('abort', stop)
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  tick()
  return stop
}
