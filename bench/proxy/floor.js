/**
 * The floor of bench/proxy: the least a Node process can do to bridge stdio to this MCP server, so that the
 * bridge's CPU and memory figures can be read against what Node itself costs on the machine, in the same run.
 * One POST per host line on kept-alive raw TCP sockets (one request in flight per socket), the answer's SSE data
 * lines or JSON body written back as lines; a fixed Bearer token from BENCH_FLOOR_TOKEN; the session and
 * protocol-version headers of a 2025 server. No sign-in, refresh, era probe, translation, error handling or
 * HTTP beyond what this server sends (chunked or Content-Length bodies): a measuring stick, not a bridge. Plain
 * JavaScript, because running a .ts file makes Node load its type stripper (about 20 MB) and the floor must not.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 */
import { connect } from 'node:net'

const url = new URL(process.argv[2])
const token = process.env['BENCH_FLOOR_TOKEN']
let session
let version
const idle = []

function open() {
  const socket = connect(Number(url.port), url.hostname)
  socket.setNoDelay(true)
  socket.setEncoding('latin1')
  let buffer = ''
  let current
  // The server closes a kept-alive socket left idle for its timeout (between the bench's rounds): forget it, and
  // send again what it carried unanswered.
  socket.on('error', () => {})
  socket.on('close', () => {
    const at = idle.indexOf(socket)
    if (at >= 0) idle.splice(at, 1)
    if (socket.line !== undefined && !socket.resent)
      send(Object.assign(open(), { resent: true }), socket.line)
  })
  socket.on('data', (data) => {
    buffer += data
    for (;;) {
      if (!current) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const lines = buffer.slice(0, end).split('\r\n')
        buffer = buffer.slice(end + 4)
        const headers = new Map()
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':')
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
        }
        current = {
          initialize: socket.initialize === true,
          status: Number(lines[0].split(' ')[1]),
          headers,
          chunked: headers.get('transfer-encoding') === 'chunked',
          length: Number(headers.get('content-length') ?? 0),
          body: '',
        }
      }
      if (current.chunked) {
        const eol = buffer.indexOf('\r\n')
        if (eol < 0) return
        const size = Number.parseInt(buffer.slice(0, eol), 16)
        if (buffer.length < eol + 2 + size + 2) return
        current.body += buffer.slice(eol + 2, eol + 2 + size)
        buffer = buffer.slice(eol + 4 + size)
        if (size > 0) continue
      } else {
        if (buffer.length < current.length) return
        current.body = buffer.slice(0, current.length)
        buffer = buffer.slice(current.length)
      }
      answer(current)
      current = undefined
      socket.line = undefined
      release(socket)
    }
  })
  return socket
}

function answer(e) {
  if (e.initialize) session = e.headers.get('mcp-session-id')
  if (e.status === 202 || !e.body) return
  const body = Buffer.from(e.body, 'latin1').toString('utf8')
  if (!(e.headers.get('content-type') ?? '').includes('text/event-stream')) {
    process.stdout.write(`${body}\n`)
    return
  }
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue
    const data = line.slice(5).trim()
    if (e.initialize) version = JSON.parse(data).result?.protocolVersion
    process.stdout.write(`${data}\n`)
  }
}

function release(socket) {
  idle.push(socket)
}

function send(socket, line) {
  const initialize = line.includes('"method":"initialize"')
  socket.initialize = initialize
  socket.line = line
  let head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nauthorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(line)}\r\n`
  if (session && !initialize) head += `mcp-session-id: ${session}\r\n`
  if (version) head += `mcp-protocol-version: ${version}\r\n`
  socket.write(`${head}\r\n${line}`)
}

let pending = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (data) => {
  pending += data
  for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
    const line = pending.slice(0, end)
    pending = pending.slice(end + 1)
    // A host sends nothing but initialize before its answer, which sets the session.
    if (line) send(idle.pop() ?? open(), line)
  }
})
process.stdin.on('end', () => process.exit(0))
