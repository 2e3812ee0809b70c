/**
 * The seam between the gateway and what it protects: an HTTP MCP server, or a stdio one served as Streamable HTTP.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 */

/** What the gateway forwards authorized requests to. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http */
export interface Upstream {
  fetch(request: Request): Promise<Response>
  close(): Promise<void>
  describe: string
}
