/**
 * Reading a message body under a size cap, for the client and the resource server alike: more than the cap is
 * refused, never truncated, so a flooding peer costs bounded memory.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-6.4
 */

/**
 * The chunks of `body` (none when there is no body), or undefined once more than `maxBytes` arrive; the stream
 * is then cancelled (awaited, errors ignored) so the peer stops sending. Read errors propagate.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-6.4
 */
export async function readChunksUpTo(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array[] | undefined> {
  if (!body) return []
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return chunks
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
}
