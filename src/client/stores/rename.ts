/**
 * Atomic replacement of a file by rename(), portable to Windows.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { promises as fs } from 'node:fs'

/** rename() over an existing file; Windows refuses while another process has the target open, so retry briefly. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export async function renameReplacing(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fs.rename(from, to)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const busy = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY'
      if (!busy || process.platform !== 'win32' || attempt >= 20) throw error
      await new Promise((r) => setTimeout(r, 10 + attempt * 5))
    }
  }
}
