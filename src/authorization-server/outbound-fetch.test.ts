import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { createOutboundFetch, isSpecialUseAddress } from './outbound-fetch.ts'

test('special-use addresses are recognised (v4, v6, v4-mapped)', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fc00::1',
    'fd12::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:7f00:1',
    '64:ff9b:1::a9fe:a9fe',
    '2002:a9fe:a9fe::1',
    '2001:0:4136:e378::1',
    '::7f00:1',
    '::ffff:0:a9fe:a9fe',
    'fec0::1',
    'not-an-ip',
  ]) {
    assert.equal(isSpecialUseAddress(address), true, address)
  }
  for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '2001:4860:4860::8888']) {
    assert.equal(isSpecialUseAddress(address), false, address)
  }
})

test('refuses http, loopback literals and hostnames resolving to loopback, before connecting', async () => {
  let hits = 0
  const server = createServer((_req, res) => {
    hits++
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const guarded = createOutboundFetch()
    await assert.rejects(guarded(`http://127.0.0.1:${port}/`), /only https/)
    await assert.rejects(guarded(`https://127.0.0.1:${port}/`), /non-public address/)
    await assert.rejects(guarded(`https://localhost:${port}/`), /non-public address/)
    await assert.rejects(guarded(`https://[::1]:${port}/`), /non-public address/)
    await assert.rejects(guarded(`https://user:pw@example.com/`), /credentials/)
    assert.equal(hits, 0)

    const development = createOutboundFetch({ allowPrivateNetwork: true, maxBytes: 4 })
    const response = await development(`http://127.0.0.1:${port}/`)
    assert.equal(await response.text(), '{}')
    assert.equal(hits, 1)
  } finally {
    server.close()
  }
})

test('bounds the body and never follows redirects', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/elsewhere' })
      res.end()
    } else {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('x'.repeat(100))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const fetcher = createOutboundFetch({ allowPrivateNetwork: true, maxBytes: 10 })
    await assert.rejects(
      fetcher(`${origin}/big`).then((response) => response.text()),
      /exceeds the 10 byte limit/,
    )
    const redirected = await fetcher(`${origin}/redirect`)
    assert.equal(redirected.status, 302)
    assert.equal(redirected.body, null)
  } finally {
    server.close()
  }
})
