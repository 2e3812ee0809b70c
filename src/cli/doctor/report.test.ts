import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildReport, check, renderReport, SPECS, specFromUrl } from './report.ts'

describe('report', () => {
  it('keeps fixes only on fail and warn, and ok means no failure', () => {
    const pass = check('a', 'pass', 'A', SPECS.rfc7636, 'fine', { fix: 'nothing' })
    const warn = check('b', 'warn', 'B', SPECS.cors, 'meh', { fix: 'do this', diagnosis: 'cors_missing' })
    assert.equal(pass.fix, undefined)
    assert.equal(warn.fix, 'do this')
    assert.equal(buildReport('https://x', [pass, warn]).ok, true)
    assert.equal(buildReport('https://x', [pass, check('c', 'fail', 'C', SPECS.rfc7636, 'bad')]).ok, false)
  })

  it('renders one line per check with its mark and spec, and a fix line under problems', () => {
    const text = renderReport(
      buildReport('https://x/mcp', [
        check('a', 'pass', 'A', SPECS.rfc7636, 'fine'),
        check('b', 'fail', 'B', SPECS.rfc9728Resource, 'bad', { fix: 'fix it' }),
        check('c', 'info', 'C', SPECS.rfc8707, 'fact'),
        check('prm.found', 'pass', 'D', SPECS.rfc8707, 'in a section'),
      ]),
    )
    const lines = text.split('\n')
    assert.equal(lines[0], 'mcp-oauth doctor https://x/mcp')
    assert.equal(lines[2], 'Other')
    assert.equal(lines[3], '  ✓ A: fine  [RFC 7636 §4.2 https://www.rfc-editor.org/rfc/rfc7636#section-4.2]')
    assert.match(lines[4]!, /^ {2}✗ B: bad {2}\[RFC 9728 §3\.3 /)
    assert.equal(lines[5], '      fix: fix it')
    assert.match(lines[6]!, /^ {2}· C: fact/)
    assert.deepEqual(lines.slice(7, 9), ['', 'Protected Resource Metadata'])
    assert.match(text, /2 passed, 1 failed, 0 warnings, 1 notes — the server needs the fixes marked ✗\n$/)
  })

  it('labels engine spec links', () => {
    assert.equal(specFromUrl('https://www.rfc-editor.org/rfc/rfc8414#section-3.3').label, 'RFC 8414 §3.3')
    assert.equal(specFromUrl('https://modelcontextprotocol.io/specification/x').label, 'MCP auth')
  })
})
