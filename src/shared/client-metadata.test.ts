import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clientMetadataDocument, validateClientMetadataDocument } from './client-metadata.ts'
import { isMcpOAuthError } from './errors.ts'

const URL_ = 'https://app.example/oauth/client.json'

describe('Client ID Metadata Documents', () => {
  it('builds a document whose client_id is its URL, with the required fields', () => {
    const doc = clientMetadataDocument(URL_, {
      client_name: 'App',
      redirect_uris: ['http://127.0.0.1/callback'],
    })
    assert.equal(doc.client_id, URL_)
    assert.equal(doc.token_endpoint_auth_method, 'none')
    assert.deepEqual(doc.grant_types, ['authorization_code', 'refresh_token'])
  })
  it('refuses a mismatched client_id, a root or http URL, missing fields and shared secrets', () => {
    const good = { client_id: URL_, client_name: 'App', redirect_uris: ['http://127.0.0.1/cb'] }
    const bad: [unknown, string][] = [
      [{ ...good, client_id: `${URL_}/` }, URL_],
      [{ ...good, client_id: 'https://app.example/' }, 'https://app.example/'],
      [{ ...good, client_id: 'http://app.example/c.json' }, 'http://app.example/c.json'],
      [{ ...good, client_name: '' }, URL_],
      [{ ...good, redirect_uris: [] }, URL_],
      [{ ...good, token_endpoint_auth_method: 'client_secret_basic' }, URL_],
      [[good], URL_],
    ]
    for (const [doc, url] of bad) {
      assert.throws(
        () => validateClientMetadataDocument(doc, url),
        (e: unknown) => isMcpOAuthError(e, 'invalid_client_metadata_document'),
      )
    }
    assert.equal(validateClientMetadataDocument(good, URL_).client_id, URL_)
  })
})
