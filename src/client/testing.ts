/**
 * A fake `fetch` with a route table, for unit tests of the engine (end-to-end tests use real sockets).
 * @see https://fetch.spec.whatwg.org/
 */
import type { FetchLike } from './http.ts'

/** A route answer: a Response, or JSON with a status. */
export type FakeAnswer = Response | { status?: number; json?: unknown; headers?: Record<string, string> }

/** Build a fetch that answers from `routes` (keyed "METHOD url" or "url") and records every call. */
export function fakeFetch(
  routes: Record<string, FakeAnswer | ((req: Request) => FakeAnswer | Promise<FakeAnswer>)>,
) {
  const calls: { method: string; url: string; body: string; headers: Headers }[] = []
  const fetch: FetchLike = async (input, init) => {
    const req = new Request(input, init)
    const body = req.body ? await req.clone().text() : ''
    calls.push({ method: req.method, url: req.url, body, headers: req.headers })
    const route = routes[`${req.method} ${req.url}`] ?? routes[req.url]
    const answer = typeof route === 'function' ? await route(req) : route
    if (!answer) return new Response('{"error":"not_found"}', { status: 404 })
    if (answer instanceof Response) return answer
    return new Response(answer.json === undefined ? null : JSON.stringify(answer.json), {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/json', ...answer.headers },
    })
  }
  return { fetch, calls }
}
