// Every certificate type the CA makes follows the SPIFFE X.509-SVID profile, read back with an
// independent parser (@peculiar/x509), for ECDSA and RSA keys.
import 'reflect-metadata'
import t from 'tap'
import {
  AuthorityKeyIdentifierExtension, BasicConstraintsExtension, ExtendedKeyUsageExtension, KeyUsageFlags,
  KeyUsagesExtension, SubjectAlternativeNameExtension, SubjectKeyIdentifierExtension, X509Certificate,
} from '@peculiar/x509'
import { buildHierarchy, TRUST_DOMAIN } from './fixtures.ts'

function uris (certificate: X509Certificate): string[] {
  const san = certificate.getExtension(SubjectAlternativeNameExtension)
  return (san?.names.items ?? []).filter(name => name.type === 'url').map(name => name.value)
}

for (const keySpec of [{ type: 'ec', bits: 256 }, { type: 'rsa', bits: 2048 }] as const) {
  const h = buildHierarchy(keySpec)

  t.test(`${keySpec.type}: leaves are SVIDs with one URI SAN, cA=false, critical digitalSignature, server+client EKU`, async t => {
    for (const [name, leaf, uri] of [
      ['service web', h.web, `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`],
      ['agent', h.agent, `spiffe://${TRUST_DOMAIN}/agent/client/dc/dc1/id/node-1`],
    ] as const) {
      const cert = new X509Certificate(leaf.certPem)
      t.same(uris(cert), [uri], `${name}: exactly one URI SAN, the SPIFFE ID`)
      const basic = cert.getExtension(BasicConstraintsExtension)
      t.equal(basic?.ca, false, `${name}: cA=false`)
      t.equal(basic?.critical, true, `${name}: basicConstraints critical`)
      const usage = cert.getExtension(KeyUsagesExtension)
      t.equal(usage?.critical, true, `${name}: keyUsage critical`)
      const expected = keySpec.type === 'rsa' ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment : KeyUsageFlags.digitalSignature
      t.equal(usage?.usages, expected, `${name}: keyUsage digitalSignature${keySpec.type === 'rsa' ? ' + keyEncipherment' : ''} only`)
      t.same(cert.getExtension(ExtendedKeyUsageExtension)?.usages, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], `${name}: serverAuth + clientAuth`)
      t.equal(cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId, h.intermediate.keyId.toString('hex'), `${name}: AKI is the intermediate's key id`)
      t.ok(cert.getExtension(SubjectKeyIdentifierExtension)?.keyId, `${name}: has an SKI`)
      t.equal(cert.serialNumber.replace(/^00/, '').length >= 30, true, `${name}: serial carries ~128 random bits`)
      t.equal(Date.parse(cert.notAfter.toISOString()) - Date.parse(cert.notBefore.toISOString()), 72 * 3_600_000 + 60_000, `${name}: 72 h TTL plus the 1 min backdating`)
    }
  })

  t.test(`${keySpec.type}: signing certificates are CAs with keyCertSign+cRLSign and the trust domain URI SAN`, async t => {
    for (const [name, pem, pathLength] of [
      ['root', h.rootPem, undefined],
      ['intermediate', h.intermediatePem, 0],
      ['cross-signed root', h.crossPem, undefined],
    ] as const) {
      const cert = new X509Certificate(pem)
      t.same(uris(cert), [`spiffe://${TRUST_DOMAIN}`], `${name}: exactly one URI SAN, the trust domain`)
      const basic = cert.getExtension(BasicConstraintsExtension)
      t.equal(basic?.ca, true, `${name}: cA=true`)
      t.equal(basic?.critical, true, `${name}: basicConstraints critical`)
      t.equal(basic?.pathLength, pathLength, `${name}: pathLen ${String(pathLength)}`)
      const usage = cert.getExtension(KeyUsagesExtension)
      t.equal(usage?.usages, KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, `${name}: keyCertSign + cRLSign`)
      t.equal(usage?.critical, true, `${name}: keyUsage critical`)
      t.ok(cert.getExtension(SubjectKeyIdentifierExtension), `${name}: has an SKI`)
    }
    const cross = new X509Certificate(h.crossPem)
    const root2 = new X509Certificate(h.root2Pem)
    t.equal(cross.subject, root2.subject, 'the cross-signed root keeps the new root\'s subject')
    t.equal(cross.issuer, new X509Certificate(h.rootPem).subject, '... and is issued by the old root')
    t.equal(cross.getExtension(SubjectKeyIdentifierExtension)?.keyId, root2.getExtension(SubjectKeyIdentifierExtension)?.keyId, '... with the new root\'s key id')
    t.ok(await cross.verify({ publicKey: await new X509Certificate(h.rootPem).publicKey.export(), signatureOnly: true }), '... signed by the old root key')
  })
}
