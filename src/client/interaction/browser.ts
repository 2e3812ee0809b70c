/**
 * Opening the person's browser, only where there is a screen to open it on.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */

/** Whether a graphical browser can be shown: always on macOS and Windows, on Linux/BSD when DISPLAY or WAYLAND_DISPLAY is set. @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1 */
export function hasDisplay(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (platform === 'darwin' || platform === 'win32') return true
  return Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY'])
}

/**
 * Open `url` in the system browser with the `open` package (it knows xdg-open, `open`, `start` and WSL);
 * resolves once the opener was started, rejects if it could not be.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-4.1
 */
export async function openBrowser(url: URL): Promise<void> {
  const { default: open } = await import('open')
  const child = await open(url.href, { wait: false })
  await new Promise<void>((resolve, reject) => {
    // `open` resolves after spawn; a missing opener binary surfaces as an 'error' event right after.
    const timer = setTimeout(resolve, 250)
    timer.unref()
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
  child.unref()
}
