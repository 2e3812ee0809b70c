/**
 * mcp-remote's `--ignore-tool`: tools hidden from the host's tools/list and refused on tools/call, without
 * reaching the server.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools
 */
import type { JsonRpc } from './bridge/protocol.ts'

/** mcp-remote's `--ignore-tool` match: `*` is a wildcard, case-insensitive, whole name. @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools */
export function toolIgnored(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/\W/g, '\\$&'))
        .join('.*')}$`,
      'i',
    ).test(name),
  )
}

/**
 * Hide ignored tools from the host: tools/list results are filtered and tools/call of an ignored tool is answered
 * with an error without reaching the server.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools
 */
export function toolFilter(patterns: readonly string[]) {
  const listIds = new Set<string>()
  return {
    /** A host message: the error answer when it calls an ignored tool, else undefined (forward it). */
    refuse(message: JsonRpc): JsonRpc | undefined {
      const m = message as { id?: unknown; method?: string; params?: { name?: unknown } }
      if (!patterns.length || m.id === undefined) return undefined
      if (m.method === 'tools/list') listIds.add(JSON.stringify(m.id))
      if (m.method !== 'tools/call' || typeof m.params?.name !== 'string') return undefined
      if (!toolIgnored(patterns, m.params.name)) return undefined
      return {
        jsonrpc: '2.0',
        id: m.id,
        error: { code: -32603, message: `Tool "${m.params.name}" is not available` },
      } as unknown as JsonRpc
    },
    /** A message for the host, with ignored tools removed from a tools/list result. */
    filter(message: JsonRpc): JsonRpc {
      const m = message as { id?: unknown; method?: string; result?: { tools?: { name: string }[] } }
      if (!patterns.length || m.method !== undefined || m.id === undefined) return message
      if (!listIds.delete(JSON.stringify(m.id)) || !Array.isArray(m.result?.tools)) return message
      const tools = m.result.tools.filter((tool) => !toolIgnored(patterns, tool.name))
      return { ...m, result: { ...m.result, tools } } as unknown as JsonRpc
    },
  }
}
