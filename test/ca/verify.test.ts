// Chain verification: leaves verify to their root, through cross-signed roots after a rotation,
// and nothing verifies against a root it does not chain to or outside its validity.
import t from 'tap'
import { spiffeIdOf, uriSansOf, verifyChain } from '../../ca/verify.ts'
import { buildHierarchy, TRUST_DOMAIN } from './fixtures.ts'

const h = buildHierarchy()
const now = Date.now()

t.test('a leaf verifies to its root and yields its SPIFFE ID', async t => {
  const verified = verifyChain({ chainPem: h.web.certPem + h.intermediatePem, rootsPem: [h.rootPem], nowMs: now })
  t.equal(verified.path.length, 3, 'leaf, intermediate, root')
  t.same(verified.spiffeId, { kind: 'service', trustDomain: TRUST_DOMAIN, namespace: 'default', datacenter: 'dc1', service: 'web', uri: `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web` })
})

t.test('after a rotation, a new leaf verifies against the old root through the cross-signed root', async t => {
  const chain = h.db.certPem + h.intermediate2Pem + h.crossPem
  t.equal(verifyChain({ chainPem: chain, rootsPem: [h.rootPem], nowMs: now }).path.length, 4, 'leaf, intermediate, cross, old root')
  t.equal(verifyChain({ chainPem: chain, rootsPem: [h.root2Pem], nowMs: now }).path.length, 3, 'leaf, intermediate, new root')
  t.ok(verifyChain({ chainPem: h.web.certPem + h.intermediatePem, rootsPem: [h.rootPem, h.root2Pem], nowMs: now }), 'old leaves keep verifying while both roots are trusted')
})

t.test('chains that must not verify', async t => {
  t.throws(() => verifyChain({ chainPem: h.web.certPem + h.intermediatePem, rootsPem: [h.root2Pem], nowMs: now }), { code: 'MESH_ERR_CA_CHAIN_INVALID' }, 'an untrusted root')
  t.throws(() => verifyChain({ chainPem: h.web.certPem, rootsPem: [h.rootPem], nowMs: now }), { code: 'MESH_ERR_CA_CHAIN_INVALID' }, 'a missing intermediate')
  t.throws(() => verifyChain({ chainPem: h.web.certPem + h.intermediatePem, rootsPem: [h.rootPem], nowMs: now + 73 * 3_600_000 }), { code: 'MESH_ERR_CA_CHAIN_INVALID' }, 'an expired leaf')
  t.throws(() => verifyChain({ chainPem: h.intermediatePem, rootsPem: [h.rootPem], nowMs: now }), { code: 'MESH_ERR_CA_CHAIN_INVALID' }, 'a CA certificate offered as the leaf')
  t.throws(() => verifyChain({ chainPem: h.db.certPem + h.web.certPem, rootsPem: [h.rootPem], nowMs: now }), { code: 'MESH_ERR_CA_CHAIN_INVALID' }, 'a leaf posing as an issuer')
})

t.test('URI SANs and SPIFFE IDs are read from certificates', async t => {
  t.same(uriSansOf(h.rootPem), [`spiffe://${TRUST_DOMAIN}`])
  t.same(spiffeIdOf(h.agent.certPem), { kind: 'agent', trustDomain: TRUST_DOMAIN, datacenter: 'dc1', node: 'node-1', uri: `spiffe://${TRUST_DOMAIN}/agent/client/dc/dc1/id/node-1` })
  t.throws(() => spiffeIdOf('not a pem'), { code: 'MESH_ERR_CA_BAD_CERTIFICATE' })
})
