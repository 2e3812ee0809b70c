import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { closestKey, type SchemaNode, validateSchema } from './json-schema.ts'
import { ENV, FILE, refusal, SAMPLE, sources } from './serve-config.test-helper.ts'
import { parseServeConfig, serveConfigSchema } from './serve-config.ts'
import { SERVE_FLAGS } from './serve-flags.ts'

describe('json-schema subset', () => {
  const root: SchemaNode = {
    type: 'object',
    additionalProperties: false,
    properties: {
      n: { type: 'integer', minimum: 1 },
      list: { type: 'array', items: { $ref: '#/$defs/item' } },
      either: {
        anyOf: [
          { const: false },
          { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } },
        ],
      },
    },
    $defs: {
      item: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } },
    },
  }

  test("paths, $ref, required, anyOf: the branch of the value's own type explains", () => {
    assert.deepEqual(validateSchema({ n: 1, list: [{ id: 'x' }], either: false }, root), [])
    assert.deepEqual(validateSchema({ n: 0.5 }, root)[0], {
      path: '$.n',
      message: 'must be an integer, not a number',
    })
    assert.equal(validateSchema({ list: [{ id: 'x' }, {}] }, root)[0]?.path, '$.list[1]')
    assert.equal(validateSchema({ either: { b: 1 } }, root)[0]?.path, '$.either.b')
    assert.match(validateSchema({ either: 3 }, root)[0]!.message, /allowed form \(false or object\)/)
  })

  test('closestKey: typos, case and separators, nothing for a far name', () => {
    assert.equal(closestKey('acessTokenTtl', ['accessTokenTtl', 'port']), 'accessTokenTtl')
    assert.equal(closestKey('token-format', ['tokenFormat', 'port']), 'tokenFormat')
    assert.equal(closestKey('colour', ['port', 'host']), undefined)
  })
})

describe('serve config: the schema and the parser agree', () => {
  const schema = serveConfigSchema()

  test('the schema is a 2020-12 document with an $id', () => {
    assert.equal(schema['$schema' as never], 'https://json-schema.org/draft/2020-12/schema')
    assert.match(String(schema['$id' as never]), /^https:\/\/.+\/mcp-oauth\.schema\.json$/)
  })

  test('every flag has a schema property, and every top-level property is a flag or a section', () => {
    const sections = new Set(['$schema', 'clients'])
    const covered = new Set<string>()
    for (const flag of SERVE_FLAGS) {
      for (const file of [flag.file, ...(flag.also ? [flag.also] : [])]) {
        const [head, ...rest] = file.split('.')
        let node = schema.properties[head!]
        assert.ok(node, `--${flag.flag} → ${file} has no schema property`)
        covered.add(head!)
        for (const key of rest) {
          const items: SchemaNode | undefined = node?.items?.$ref
            ? schema.$defs?.[node.items.$ref.split('/').at(-1)!]
            : node
          node = items?.properties?.[key]
          assert.ok(node, `--${flag.flag} → ${file} has no schema property`)
        }
        assert.ok(String(JSON.stringify(node)).length > 2)
      }
    }
    for (const key of Object.keys(schema.properties))
      assert.ok(
        covered.has(key) || sections.has(key),
        `schema property ${key} has no flag and is not a section`,
      )
  })

  test('the sample validates against the schema and parses; each invalid config is refused at the key the schema names', () => {
    assert.deepEqual(validateSchema(SAMPLE, schema), [])
    parseServeConfig(['--config', FILE], sources(SAMPLE, ENV))
    const invalid: Record<string, unknown>[] = [
      { prot: 1 },
      { port: -1 },
      { resources: [{ uri: 'https://a.example', scope: ['x'] }] },
      { users: [{ username: 'a:b', password: 'long enough' }] },
      { clients: [{ client_id: '' }] },
      { upstream: { issuer: 'https://i.example', clientId: 'x', secret: 'y' } },
      { redis: 'http://127.0.0.1:6379' },
    ]
    for (const config of invalid) {
      const fromSchema = validateSchema(config, schema)[0]
      assert.ok(fromSchema, `the schema accepts ${JSON.stringify(config)}`)
      const refused = refusal(() => parseServeConfig(['--config', FILE], sources(config)))
      assert.ok(refused.message.includes(`${fromSchema.path} `), `${refused.message} vs ${fromSchema.path}`)
    }
  })

  test('the schema file is published with the package', async () => {
    const { default: pkg } = await import('../../package.json', { with: { type: 'json' } })
    assert.ok((pkg.files as string[]).includes('schema'), 'package.json files lists schema')
  })
})
