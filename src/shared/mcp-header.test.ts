import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeHeaderValue, paramHeaders, toolHeaders } from './mcp-header.ts'

test("the spec's example tool: Region from the region argument, plain", () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      query: { type: 'string' },
    },
  }
  const found = toolHeaders(schema)
  assert.deepEqual(found, { ok: true, params: [{ name: 'Region', path: ['region'] }] })
  assert.deepEqual(paramHeaders(found.ok ? found.params : [], { region: 'us-west1', query: 'SELECT 1' }), {
    'mcp-param-region': 'us-west1',
  })
})

test('nested properties, integers and booleans convert; absent or ill-typed values are omitted', () => {
  const found = toolHeaders({
    type: 'object',
    properties: {
      target: {
        type: 'object',
        properties: { shard: { type: 'integer', 'x-mcp-header': 'Shard' } },
      },
      dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
      note: { type: 'string', 'x-mcp-header': 'Note' },
    },
  })
  assert.ok(found.ok)
  assert.deepEqual(paramHeaders(found.params, { target: { shard: -7 }, dry: false }), {
    'mcp-param-shard': '-7',
    'mcp-param-dry-run': 'false',
  })
  assert.deepEqual(paramHeaders(found.params, { target: { shard: 2 ** 60 }, dry: 'yes', note: {} }), {
    'mcp-param-dry-run': 'yes',
  })
  assert.deepEqual(paramHeaders(found.params, undefined), {})
})

test('values that are not plain visible ASCII, or look like the sentinel, are Base64-encoded', () => {
  assert.equal(encodeHeaderValue('us-west1'), 'us-west1')
  assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=')
  assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=')
  assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=')
  assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=')
  assert.equal(encodeHeaderValue(''), '=?base64??=')
})

test('annotations that break the rules make the tool invalid, with the reason', () => {
  const bad = [
    { properties: { a: { type: 'number', 'x-mcp-header': 'A' } } },
    { properties: { a: { type: 'string', 'x-mcp-header': 'Bad Name' } } },
    { properties: { a: { type: 'string', 'x-mcp-header': '' } } },
    {
      properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } },
    },
    { properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } },
    { properties: { a: { anyOf: [{ type: 'string', 'x-mcp-header': 'A' }] } } },
    { $defs: { d: { type: 'string', 'x-mcp-header': 'D' } }, properties: { a: { $ref: '#/$defs/d' } } },
  ]
  for (const schema of bad) {
    const found = toolHeaders({ type: 'object', ...schema })
    assert.equal(found.ok, false, JSON.stringify(schema))
    assert.ok(!found.ok && found.reason.length > 0)
  }
  for (const schema of [
    { 'x-mcp-header': 'Root', properties: {} },
    {
      properties: {
        a: {
          type: 'object',
          dependencies: { b: { properties: { c: { type: 'string', 'x-mcp-header': 'C' } } } },
        },
      },
    },
    { properties: { a: { type: ['string', 'integer'], 'x-mcp-header': 'A' } } },
  ]) {
    assert.equal(toolHeaders({ type: 'object', ...schema }).ok, false, JSON.stringify(schema))
  }
  assert.deepEqual(toolHeaders(undefined), { ok: true, params: [] })
  assert.deepEqual(toolHeaders({ type: 'object', properties: { a: { type: 'string' } } }), {
    ok: true,
    params: [],
  })
})

test('data that merely mentions x-mcp-header, a property so named and nullable types are no violation', () => {
  const found = toolHeaders({
    type: 'object',
    default: { 'x-mcp-header': 'not an annotation' },
    properties: {
      list: {
        type: 'array',
        items: { type: 'object', properties: { 'x-mcp-header': { type: 'string' } } },
        examples: [[{ 'x-mcp-header': 'x' }]],
      },
      zone: { type: ['string', 'null'], 'x-mcp-header': 'Zone', enum: ['a', null] },
    },
  })
  assert.deepEqual(found, { ok: true, params: [{ name: 'Zone', path: ['zone'] }] })
  assert.deepEqual(paramHeaders(found.ok ? found.params : [], { zone: null }), {})
})
