import t from 'tap'
import { validateSnapshot } from '../../proxy/validate.ts'
import type { ProxySnapshot } from '../../proxy/snapshot.ts'
import { cleanupPki, testPki } from './fixtures/certs.ts'
import { endpoint, snapshotFor, upstream } from './fixtures/mesh.ts'

t.teardown(cleanupPki)

function base (): ProxySnapshot {
  const pki = testPki()
  return snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: 8080, upstreams: [upstream([endpoint('api-1', 21000)])] })
}

t.test('a complete snapshot passes', async (t) => {
  t.doesNotThrow(() => { validateSnapshot(base()) })
})

const broken: Array<[string, (s: ProxySnapshot) => ProxySnapshot, RegExp]> = [
  ['no authorize function', (s) => ({ ...s, authorize: undefined as never }), /authorize must be a function/],
  ['no roots', (s) => ({ ...s, tls: { ...s.tls, rootsPem: [] } }), /at least one root/],
  ['a key that is not PEM', (s) => ({ ...s, tls: { ...s.tls, keyPem: 'secret' } }), /private key/],
  ['an unknown protocol', (s) => ({ ...s, inbound: { ...s.inbound, protocol: 'grpc' as never } }), /inbound.protocol/],
  ['a duplicate upstream', (s) => ({ ...s, upstreams: [s.upstreams[0]!, s.upstreams[0]!] }), /appears twice/],
  ['an endpoint without SPIFFE ID', (s) => ({ ...s, upstreams: [{ ...s.upstreams[0]!, endpoints: [{ ...endpoint('x', 1), spiffeId: 'api' }] }] }), /needs a SPIFFE ID/],
  ['a fault percentage over 100', (s) => ({ ...s, inbound: { ...s.inbound, faults: [{ abortStatusCode: 500, abortPercent: 150 }] } }), /0–100/],
  ['a path rate limit without prefix', (s) => ({ ...s, inbound: { ...s.inbound, rateLimits: [{ scope: 'path', requestsPerSecond: 1, burst: 1 }] } }), /needs pathPrefix/],
  ['a negative split weight', (s) => ({ ...s, upstreams: [{ ...s.upstreams[0]!, split: [{ subset: 'v1', weight: -1 }] }] }), /split weights/]
]

for (const [name, breakIt, message] of broken) {
  t.test(`refused: ${name}`, async (t) => {
    t.throws(() => { validateSnapshot(breakIt(base())) }, { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT', message })
  })
}
