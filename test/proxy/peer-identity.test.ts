import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { formatServiceSpiffeId, parseServiceSpiffeId } from '../../api/spiffe.ts'
import { peerServiceId, uriSans } from '../../proxy/peer-identity.ts'
import type { PeerCertificate } from 'node:tls'
import { TRUST_DOMAIN, cleanupPki, spiffeIdOf, testPki } from './fixtures/certs.ts'

t.teardown(cleanupPki)

t.test('a Consul service SPIFFE ID parses into its parts and formats back', async (t) => {
  const id = parseServiceSpiffeId('spiffe://abc.consul/ns/default/dc/dc1/svc/web')
  t.same(id, { trustDomain: 'abc.consul', namespace: 'default', datacenter: 'dc1', service: 'web' })
  t.equal(formatServiceSpiffeId(id!), 'spiffe://abc.consul/ns/default/dc/dc1/svc/web')
})

t.test('agent IDs and other URIs are not service identities', async (t) => {
  t.equal(parseServiceSpiffeId('spiffe://abc.consul/agent/client/dc/dc1/id/node1'), undefined)
  t.equal(parseServiceSpiffeId('https://abc.consul/ns/default/dc/dc1/svc/web'), undefined)
  t.equal(parseServiceSpiffeId('spiffe://abc.consul/ns/default/dc/dc1/svc/web/extra'), undefined)
})

function asPeer (pem: string): PeerCertificate {
  const cert = new X509Certificate(pem)
  return { subjectaltname: cert.subjectAltName } as PeerCertificate
}

t.test('the caller identity comes from the certificate\'s single URI SAN in our trust domain', async (t) => {
  const pki = testPki()
  t.same(uriSans(asPeer(pki.web.certPem)), [spiffeIdOf('web')])
  t.same(peerServiceId(asPeer(pki.web.certPem), TRUST_DOMAIN)?.id.service, 'web')
  t.equal(peerServiceId(asPeer(pki.web.certPem), 'other.consul'), null, 'another trust domain is refused')
  t.equal(peerServiceId(asPeer(pki.noSpiffe.certPem), TRUST_DOMAIN), null, 'a DNS-only certificate names nobody')
  t.equal(peerServiceId({ subjectaltname: `URI:${spiffeIdOf('a')}, URI:${spiffeIdOf('b')}` } as PeerCertificate, TRUST_DOMAIN), null, 'two URIs are ambiguous')
  t.equal(peerServiceId(undefined, TRUST_DOMAIN), null)
})
