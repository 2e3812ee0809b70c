/**
 * Test certificates made at run time with the openssl command: a private CA, and leaf certificates for
 * 127.0.0.1 that are valid, expired, for another host name, or self-signed. Nothing is kept in the repository.
 * @see https://www.rfc-editor.org/rfc/rfc5280
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The generated material (PEM strings) and the CA file path for --ca-file. */
export interface TestCertificates {
  caFile: string
  key: string
  valid: string
  expired: string
  wrongName: string
  selfSigned: { key: string; cert: string }
  /** The valid leaf followed by the CA (a chain that ends in a self-signed CA). */
  validWithCa: string
  cleanup(): void
}

/** Whether the openssl command can be run here. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const CONFIG = `[ca]
default_ca = d
[d]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[p]
commonName = supplied
[loopback]
subjectAltName = IP:127.0.0.1
[other]
subjectAltName = DNS:other.example
`

/** Generate everything into a fresh temporary directory. @see https://www.rfc-editor.org/rfc/rfc5280 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-tls-'))
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  mkdirSync(join(dir, 'db'))
  writeFileSync(join(dir, 'db', 'index.txt'), '')
  writeFileSync(join(dir, 'db', 'serial'), '01\n')
  writeFileSync(join(dir, 'ca.cnf'), CONFIG)
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=doctor test CA',
    '-days',
    '2',
  ])
  run(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1'])
  const sign = (out: string, ext: string, dates: string[]) =>
    run([
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      'leaf.csr',
      '-out',
      out,
      '-extensions',
      ext,
      '-notext',
      ...dates,
    ])
  sign('valid.pem', 'loopback', ['-days', '2'])
  sign('expired.pem', 'loopback', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'])
  sign('other.pem', 'other', ['-days', '2'])
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '2',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ])
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  return {
    caFile: join(dir, 'ca.pem'),
    key: read('leaf.key'),
    valid: read('valid.pem'),
    expired: read('expired.pem'),
    wrongName: read('other.pem'),
    selfSigned: { key: read('self.key'), cert: read('self.pem') },
    validWithCa: read('valid.pem') + read('ca.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}
