// SPIFFE ID building/parsing and the DER primitives, as tables of exact values.
import t from 'tap'
import { agentSpiffeId, requireSpiffeId, serviceSpiffeId, trustDomainFor } from '../../ca/spiffe.ts'
import { decodeOid, namedBits, oid, readNode, readWhole, time, unsignedInteger } from '../../ca/der.ts'

const td = '11111111-2222-3333-4444-555555555555.consul'

t.test('SPIFFE IDs as Consul forms them', async t => {
  t.equal(trustDomainFor('11111111-2222-3333-4444-555555555555'), td)
  t.throws(() => trustDomainFor('not-a-uuid'), { code: 'MESH_ERR_CA_BAD_SPIFFE_ID' })
  t.equal(serviceSpiffeId(td, 'dc1', 'web'), `spiffe://${td}/ns/default/dc/dc1/svc/web`)
  t.equal(agentSpiffeId(td, 'dc1', 'node-1'), `spiffe://${td}/agent/client/dc/dc1/id/node-1`)
  t.throws(() => serviceSpiffeId(td, 'dc1', 'web/../db'), { code: 'MESH_ERR_CA_BAD_SPIFFE_ID' }, 'a slash in a service name')
  t.same(requireSpiffeId(`spiffe://${td}/ns/default/dc/dc1/svc/web`), { kind: 'service', trustDomain: td, namespace: 'default', datacenter: 'dc1', service: 'web' })
  t.same(requireSpiffeId(`spiffe://${td}`), { kind: 'signing', trustDomain: td })
  for (const bad of ['http://x', `spiffe://${td}/ns/default/svc/web`, `spiffe://${td}/agent/client/dc/dc1/id/`, 'spiffe://UPPER/ns']) {
    t.throws(() => requireSpiffeId(bad), { code: 'MESH_ERR_CA_BAD_SPIFFE_ID' }, bad)
  }
})

t.test('DER encodings', async t => {
  t.equal(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])).toString('hex'), '02017f', 'leading zeros trimmed')
  t.equal(unsignedInteger(Buffer.from([0x80])).toString('hex'), '02020080', 'a sign byte added for the high bit')
  t.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302')
  t.equal(decodeOid(readWhole(oid('2.5.29.17'))), '2.5.29.17')
  t.equal(namedBits([0]).toString('hex'), '03020780', 'digitalSignature: 7 unused bits')
  t.equal(namedBits([5, 6]).toString('hex'), '03020106', 'keyCertSign + cRLSign: 1 unused bit')
  t.equal(time(Date.UTC(2026, 10, 26, 11, 12, 7)).toString('ascii').slice(2), '261126111207Z', 'UTCTime before 2050')
  t.equal(time(Date.UTC(2050, 0, 1)).toString('ascii').slice(2), '20500101000000Z', 'GeneralizedTime from 2050')
  t.throws(() => readNode(Buffer.from([0x30, 0x05, 0x01])), { code: 'MESH_ERR_CA_BAD_DER' }, 'a length past the end')
  t.throws(() => readNode(Buffer.from([0x30, 0x81, 0x05, 0, 0, 0, 0, 0])), { code: 'MESH_ERR_CA_BAD_DER' }, 'a non-minimal long length')
  t.throws(() => readWhole(Buffer.from([0x05, 0x00, 0x00])), { code: 'MESH_ERR_CA_BAD_DER' }, 'trailing bytes')
})
