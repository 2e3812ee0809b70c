/**
 * mcp-oauth-toolkit/shared: the MCP authorization vocabulary (types, pure parsers, validators, errors). No I/O.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export * from './authorization-server.ts'
export * from './client-metadata.ts'
export * from './errors.ts'
export * from './protected-resource.ts'
export * from './resource.ts'
export * from './scope.ts'
export * from './www-authenticate.ts'
