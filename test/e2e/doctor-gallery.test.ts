/**
 * `mcp-oauth doctor` against the gallery: real loopback servers with one defect each must get exactly their
 * named diagnosis; the healthy one must pass every check (with --register and --login). Doctor runs in-process
 * through the CLI dispatcher; one test spawns the real binary for the exit code.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { runDoctorCommand } from '../../src/cli/commands/doctor.ts'
import type { Report } from '../../src/cli/doctor/report.ts'
import { main } from '../../src/cli/main.ts'
import type { Authorizer } from '../../src/client/authorizer.ts'
import { EXHIBITS } from '../doctor-gallery/gallery.ts'
import { type GalleryServer, startGalleryServer } from '../doctor-gallery/server.ts'

function capture() {
  let out = ''
  let err = ''
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    get out() {
      return out
    },
    get err() {
      return err
    },
  }
}

/** Approves every sign-in at once: follows the authorization redirect to the callback URL. */
const autoApprove: Authorizer = {
  redirectUri: 'http://127.0.0.1:53682/callback',
  async authorize(url) {
    const r = await fetch(url, { redirect: 'manual' })
    await r.body?.cancel()
    const location = r.headers.get('location')
    if (r.status !== 302 || !location) throw new Error(`authorization answered ${r.status}`)
    return new URL(location)
  },
}

async function doctor(url: string, args: string[]): Promise<{ code: number; report: Report; err: string }> {
  const c = capture()
  const code = args.includes('--login')
    ? await runDoctorCommand([url, '--json', ...args], c.io, { authorizer: autoApprove })
    : await main(['doctor', url, '--json', ...args], c.io)
  let report: Report
  try {
    report = JSON.parse(c.out) as Report
  } catch {
    throw new Error(`doctor printed no JSON (exit ${code}): ${c.out}\n${c.err}`)
  }
  return { code, report, err: c.err }
}

const problems = (r: Report) => r.checks.filter((c) => c.status === 'fail' || c.status === 'warn')

describe('doctor gallery: one defect each', () => {
  for (const exhibit of EXHIBITS) {
    it(`names "${exhibit.name}"`, async () => {
      const server = await startGalleryServer(exhibit.defects)
      try {
        const { code, report } = await doctor(server.url, exhibit.args)
        const named = report.checks.filter((c) => c.diagnosis)
        const hit = named.find((c) => c.diagnosis === exhibit.expect.diagnosis)
        assert.ok(hit, `no ${exhibit.expect.diagnosis} in ${JSON.stringify(problems(report), null, 1)}`)
        assert.equal(hit.status, exhibit.expect.status)
        assert.equal(hit.id, exhibit.expect.id)
        if (hit.status === 'fail' || hit.status === 'warn') assert.ok(hit.fix, 'a fix for the operator')
        // Exactly this diagnosis: the other named patterns stay silent, and nothing else fails.
        const otherFailures = report.checks.filter(
          (c) => c.status === 'fail' && c.diagnosis !== exhibit.expect.diagnosis,
        )
        assert.deepEqual(otherFailures, [])
        assert.deepEqual([...new Set(named.map((c) => c.diagnosis))], [exhibit.expect.diagnosis])
        assert.equal(code, report.ok ? 0 : 1)
        assert.equal(report.ok, !report.checks.some((c) => c.status === 'fail'))
      } finally {
        await server.close()
      }
    })
  }

  it('with --login, a registration refused with 403 is named at sign-in', async () => {
    const server = await startGalleryServer({ dcrAllowlist: true })
    try {
      const { code, report } = await doctor(server.url, ['--login'])
      const c = report.checks.find((x) => x.id === 'login.sign_in')
      assert.equal(c?.status, 'fail')
      assert.equal(c?.diagnosis, 'dcr_allowlisted')
      assert.equal(code, 1)
    } finally {
      await server.close()
    }
  })

  it('warns about error="invalid_token" on a request that sent no token (RFC 6750 §3.1)', async () => {
    const server = await startGalleryServer({ invalidTokenWithoutToken: true })
    try {
      const { report } = await doctor(server.url, [])
      const c = report.checks.find((x) => x.id === 'challenge.error')
      assert.equal(c?.status, 'warn')
      assert.match(c?.spec.url ?? '', /rfc6750#section-3\.1/)
    } finally {
      await server.close()
    }
  })
})

describe('doctor gallery: the healthy server', () => {
  let server: GalleryServer
  before(async () => {
    server = await startGalleryServer()
  })
  after(async () => {
    await server?.close()
  })

  it('passes every check, registers a test client and deletes it (RFC 7592)', async () => {
    const { code, report } = await doctor(server.url, ['--register'])
    assert.deepEqual(problems(report), [])
    assert.equal(report.ok, true)
    assert.equal(code, 0)
    const live = report.checks.find((c) => c.id === 'registration.dcr_live')
    assert.equal(live?.status, 'pass')
    assert.ok(server.log.some((l) => l.startsWith('DELETE /register/')))
    assert.equal(server.clients.size, 0, 'the test registration was removed')
    for (const c of report.checks) {
      assert.match(c.spec.url, /^https:\/\//)
      assert.ok(['pass', 'fail', 'warn', 'info'].includes(c.status))
    }
  })

  it('--login: token accepted, audience, refresh with rotation, step-up on a 403; no token printed', async () => {
    const { code, report, err } = await doctor(server.url, ['--login'])
    assert.deepEqual(problems(report), [])
    assert.equal(code, 0)
    const status = (id: string) => report.checks.find((c) => c.id === id)?.status
    assert.equal(status('login.sign_in'), 'pass')
    assert.equal(status('token.accepted'), 'pass')
    assert.equal(status('token.audience'), 'pass')
    assert.equal(status('refresh.issued'), 'pass')
    assert.equal(status('refresh.works'), 'pass')
    assert.equal(status('refresh.rotation'), 'pass')
    assert.equal(status('stepup.challenge'), 'pass')
    assert.equal(status('stepup.retry'), 'pass')
    assert.equal(server.clients.size, 0, 'the sign-in registration was removed')
    const text = JSON.stringify(report) + err
    assert.doesNotMatch(text, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'no JWT in the output')
  })

  it('--login --client-id: a pre-registered client is used and nothing is registered', async () => {
    const reg = await fetch(`${server.origin}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'operator-issued', redirect_uris: [autoApprove.redirectUri] }),
    })
    const { client_id } = (await reg.json()) as { client_id: string }
    const registrations = () => server.log.filter((l) => l === 'POST /register').length
    const before = registrations()
    const { code, report } = await doctor(server.url, ['--login', '--client-id', client_id])
    assert.equal(code, 0, JSON.stringify(problems(report)))
    assert.match(
      report.checks.find((c) => c.id === 'registration.pre_registered')?.detail ?? '',
      new RegExp(client_id),
    )
    assert.match(report.checks.find((c) => c.id === 'login.sign_in')?.detail ?? '', /\(pre-registered\)/)
    assert.equal(
      report.checks.find((c) => c.id === 'registration.dcr_live'),
      undefined,
    )
    assert.equal(registrations(), before, 'doctor registered nothing')
    assert.ok(server.clients.has(client_id), 'the operator-issued client is left alone')
  })

  it('--login --device-code in a spawned process: the person approves the code it prints', {
    timeout: 60_000,
  }, async (t) => {
    const child = spawn(
      process.execPath,
      ['bin/mcp-oauth.js', 'doctor', server.url, '--login', '--device-code', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: t.signal,
      },
    )
    child.on('error', () => {}) // an abort (test timeout) kills it; 'close' still follows
    let out = ''
    let err = ''
    const approvals = new Map<string, Promise<number>>()
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString()
      // Every code it shows (the sign-in, then the step-up) is approved, as the person would.
      for (const m of err.matchAll(/Or open (\S+\/device\/verify\?user_code=\w+)/g)) {
        if (!approvals.has(m[1]!))
          approvals.set(
            m[1]!,
            fetch(m[1]!).then((r) => r.status),
          )
      }
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.deepEqual(await Promise.all(approvals.values()), [200, 200], err)
    assert.equal(code, 0, `${out}\n${err}`)
    const report = JSON.parse(out) as Report
    assert.deepEqual(problems(report), [])
    for (const id of ['login.sign_in', 'token.accepted', 'token.audience', 'refresh.works', 'stepup.retry'])
      assert.equal(report.checks.find((c) => c.id === id)?.status, 'pass', id)
    assert.doesNotMatch(out + err, /eyJ[\w-]+\.[\w-]+\.[\w-]+/)
  })

  it('the spawned binary exits 0 for the healthy server and 1 for a broken one', async () => {
    const broken = await startGalleryServer({ pathIssuerAtRoot: true })
    try {
      const run = (url: string) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, ['bin/mcp-oauth.js', 'doctor', url], {
            stdio: ['ignore', 'pipe', 'pipe'],
          })
          let out = ''
          child.stdout.on('data', (b: Buffer) => (out += b.toString()))
          child.on('close', (code) => resolve({ code, out }))
        })
      const [good, bad] = await Promise.all([run(server.url), run(broken.url)])
      assert.equal(good.code, 0, good.out)
      assert.match(good.out, /✓ PKCE S256/)
      assert.equal(bad.code, 1, bad.out)
      assert.match(bad.out, /✗ Authorization server metadata location: issuer .*\/tenant1 has a path/)
      assert.match(
        bad.out,
        /\n {6}fix: Serve the metadata at .*\/\.well-known\/oauth-authorization-server\/tenant1/,
      )
    } finally {
      await broken.close()
    }
  })
})
