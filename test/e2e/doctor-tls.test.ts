/**
 * TLS problems doctor must name, on real https loopback servers with certificates made at run time: self-signed,
 * a chain ending in an untrusted CA, and (trusting the CA with --ca-file, in a spawned process because the CA list
 * is process-wide) an expired certificate, a certificate for another name, and a valid one that passes.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import type { Report } from '../../src/cli/doctor/report.ts'
import { main } from '../../src/cli/main.ts'
import {
  makeTestCertificates,
  opensslAvailable,
  type TestCertificates,
} from '../doctor-gallery/certificates.ts'
import { startGalleryServer } from '../doctor-gallery/server.ts'

let certs: TestCertificates | undefined

before(() => {
  if (opensslAvailable()) certs = makeTestCertificates()
})
after(() => certs?.cleanup())

async function inProcess(url: string): Promise<Report> {
  let out = ''
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } }
  await main(['doctor', url, '--json'], io)
  return JSON.parse(out) as Report
}

function spawned(args: string[]): Promise<{ code: number | null; report: Report }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/mcp-oauth.js', 'doctor', ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.on('close', (code) => {
      try {
        resolve({ code, report: JSON.parse(out) as Report })
      } catch {
        reject(new Error(`no JSON (exit ${code}): ${out}${err}`))
      }
    })
  })
}

const tlsCheck = (r: Report) => r.checks.find((c) => c.diagnosis?.startsWith('tls_'))

describe('doctor names TLS problems', () => {
  it('self-signed certificate, with the --ca-file hint', async (t) => {
    if (!certs) return t.skip('openssl is not available')
    const server = await startGalleryServer({}, certs.selfSigned)
    try {
      const report = await inProcess(server.url)
      const c = tlsCheck(report)
      assert.equal(c?.diagnosis, 'tls_self_signed')
      assert.equal(c?.status, 'fail')
      assert.match(c?.detail ?? '', /DEPTH_ZERO_SELF_SIGNED_CERT/)
      assert.match(c?.fix ?? '', /--ca-file/)
      assert.equal(report.ok, false)
    } finally {
      await server.close()
    }
  })

  it('an authorization server with a self-signed certificate is named on its metadata URL', async (t) => {
    if (!certs) return t.skip('openssl is not available')
    const as = await startGalleryServer({}, certs.selfSigned)
    const mcp = await startGalleryServer({ listIssuer: as.origin })
    try {
      const report = await inProcess(mcp.url)
      const c = tlsCheck(report)
      assert.equal(c?.id, 'as.url.oauth-root')
      assert.equal(c?.diagnosis, 'tls_self_signed')
      assert.match(c?.fix ?? '', /--ca-file/)
      assert.equal(report.checks.find((x) => x.id === 'prm.found')?.status, 'pass')
    } finally {
      await Promise.all([as.close(), mcp.close()])
    }
  })

  it('a chain ending in a CA this machine does not trust', async (t) => {
    if (!certs) return t.skip('openssl is not available')
    const server = await startGalleryServer({}, { key: certs.key, cert: certs.validWithCa })
    try {
      const c = tlsCheck(await inProcess(server.url))
      assert.equal(c?.diagnosis, 'tls_self_signed')
      assert.match(c?.detail ?? '', /SELF_SIGNED_CERT_IN_CHAIN/)
    } finally {
      await server.close()
    }
  })

  it('with --ca-file: a valid certificate passes; expired and wrong-name ones are named', async (t) => {
    if (!certs) return t.skip('openssl is not available')
    const c = certs
    const valid = await startGalleryServer({}, { key: c.key, cert: c.valid })
    const expired = await startGalleryServer({}, { key: c.key, cert: c.expired })
    const other = await startGalleryServer({}, { key: c.key, cert: c.wrongName })
    try {
      const [good, old, wrong] = await Promise.all([
        spawned([valid.url, '--ca-file', c.caFile]),
        spawned([expired.url, '--ca-file', c.caFile]),
        spawned([other.url, '--ca-file', c.caFile]),
      ])
      assert.equal(good.code, 0, JSON.stringify(good.report.checks.filter((x) => x.status === 'fail')))
      assert.equal(good.report.checks.find((x) => x.id === 'tls.server')?.status, 'pass')
      assert.equal(tlsCheck(old.report)?.diagnosis, 'tls_expired')
      assert.match(tlsCheck(old.report)?.detail ?? '', /CERT_HAS_EXPIRED/)
      assert.equal(old.code, 1)
      assert.equal(tlsCheck(wrong.report)?.diagnosis, 'tls_name_mismatch')
      assert.match(tlsCheck(wrong.report)?.detail ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/)
      assert.equal(wrong.code, 1)
    } finally {
      await Promise.all([valid.close(), expired.close(), other.close()])
    }
  })
})
