// Certificate signing requests round-trip, and parsing refuses anything forged or malformed.
import t from 'tap'
import { createCsr, parseCsr, MAX_CSR_PEM_BYTES } from '../../ca/csr.ts'
import { children, fromPemAll, readWhole, sequence, toPem } from '../../ca/der.ts'
import { generateKey } from '../../ca/keys.ts'
import { spawnSync } from 'node:child_process'

const uri = 'spiffe://11111111-2222-3333-4444-555555555555.consul/agent/client/dc/dc1/id/node-1'

t.test('a CSR carries the key and the URI SAN and verifies', async t => {
  for (const spec of [{ type: 'ec', bits: 256 }, { type: 'rsa', bits: 2048 }] as const) {
    const key = generateKey(spec)
    const parsed = parseCsr(createCsr({ privateKeyPem: key.privateKeyPem, commonName: 'agent-node-1', uris: [uri] }))
    t.ok(parsed.spkiDer.equals(key.spkiDer), `${spec.type}: the public key is the CSR key`)
    t.same(parsed.uris, [uri], `${spec.type}: the URI SAN is read back`)
    t.same(parsed.keySpec, spec, `${spec.type}: key type and size`)
  }
})

t.test('openssl accepts our CSRs', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'no openssl' }, async t => {
  const pem = createCsr({ privateKeyPem: generateKey({ type: 'ec', bits: 256 }).privateKeyPem, commonName: 'x', uris: [uri] })
  const result = spawnSync('openssl', ['req', '-verify', '-noout'], { input: pem, encoding: 'utf8' })
  t.equal(result.status, 0, result.stderr)
})

t.test('bad CSRs are rejected with MESH_ERR_CA_BAD_CSR', async t => {
  const key = generateKey({ type: 'ec', bits: 256 })
  const good = createCsr({ privateKeyPem: key.privateKeyPem, commonName: 'agent', uris: [uri] })
  const der = fromPemAll(good, 'CERTIFICATE REQUEST')[0]
  const flipped = Buffer.from(der)
  flipped[40] ^= 0x01 // inside the signed CertificationRequestInfo
  const otherKey = generateKey({ type: 'ec', bits: 256 })
  const otherCsr = fromPemAll(createCsr({ privateKeyPem: otherKey.privateKeyPem, commonName: 'agent', uris: [uri] }), 'CERTIFICATE REQUEST')[0]
  const cases: Array<[string, string]> = [
    ['not PEM', 'hello'],
    ['a tampered request', toPem(flipped, 'CERTIFICATE REQUEST')],
    ['a truncated request', toPem(der.subarray(0, der.length - 10), 'CERTIFICATE REQUEST')],
    ['trailing garbage', toPem(Buffer.concat([der, Buffer.from([0])]), 'CERTIFICATE REQUEST')],
    ['two requests', good + good],
    ['a signature from another key', toPem(sequence(children(readWhole(der))[0].raw, children(readWhole(der))[1].raw, children(readWhole(otherCsr))[2].raw), 'CERTIFICATE REQUEST')],
    ['an oversized input', `${good}${' '.repeat(MAX_CSR_PEM_BYTES)}`],
    ['a key on an unsupported curve', createCsrWithCurve()],
  ]
  for (const [what, pem] of cases) {
    t.throws(() => parseCsr(pem), { code: 'MESH_ERR_CA_BAD_CSR' }, what)
  }
})

function createCsrWithCurve (): string {
  const result = spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=x'], { encoding: 'utf8' })
  return result.stdout
}
