import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { parseToolArgs, run } from './call.ts'
import { capture } from './fixtures.test-helper.ts'

describe('mcp-oauth call --args', () => {
  it('parses a JSON object, inline or from @file; absent means {}', () => {
    assert.deepEqual(parseToolArgs(undefined), {})
    assert.deepEqual(parseToolArgs('{"q":"x","n":2}'), { q: 'x', n: 2 })
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-call-'))
    try {
      writeFileSync(join(dir, 'a.json'), '{"from":"file"}')
      assert.deepEqual(parseToolArgs(`@${join(dir, 'a.json')}`), { from: 'file' })
      assert.throws(() => parseToolArgs(`@${join(dir, 'missing.json')}`), InvalidArgumentError)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses non-objects and bad JSON as usage errors', () => {
    for (const raw of ['[1]', '"s"', 'null', '3', '{bad']) {
      assert.throws(() => parseToolArgs(raw), InvalidArgumentError, raw)
    }
  })

  it('a missing tool name exits 2 before any network', async () => {
    const { io, out } = capture()
    assert.equal(await run(['https://a.example.com/mcp'], io), 2)
    assert.match(out.stderr, /missing <tool>/)
  })
})
