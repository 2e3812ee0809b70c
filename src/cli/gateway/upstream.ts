/**
 * The gateway's upstream seam: where serve sends a request once the resource-server kit let it through.
 * (H1's branch adds httpUpstream and friends here; this interface is the same text.)
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */

/** One MCP server behind the gateway, reached with web-standard requests. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports */
export interface Upstream {
  /** Forward one request already authorized and stripped of the client's credentials; never throws for HTTP errors. */
  fetch(request: Request): Promise<Response>
  /** Drop connections and sessions. */
  close(): Promise<void>
  /** One redacted line for the start banner (no userinfo, query or fragment). */
  readonly describe: string
}
