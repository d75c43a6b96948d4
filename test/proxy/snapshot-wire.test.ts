// The body a standalone sidecar gets from its agent is parsed field by field: the right shape comes
// back as snapshot data, anything else is refused naming the field.
import t from 'tap'
import { parseSidecarSnapshotBody } from '../../proxy/snapshot-wire.ts'
import type { ProxySnapshotData } from '../../proxy/snapshot-wire.ts'

const snapshot: ProxySnapshotData = {
  proxyId: 'web-sidecar-proxy',
  serviceName: 'web',
  trustDomain: 'abc.consul',
  datacenter: 'dc1',
  tls: { certChainPem: 'CERT', keyPem: 'KEY', rootsPem: ['ROOT'] },
  inbound: {
    bindAddress: '127.0.0.1', bindPort: 21000, localServiceAddress: '127.0.0.1', localServicePort: 8080, protocol: 'http',
    rateLimits: [{ scope: 'path', pathPrefix: '/a', requestsPerSecond: 5, burst: 5 }],
    faults: [{ delayMs: 10, delayPercent: 50 }],
  },
  upstreams: [{
    destinationName: 'api', localBindAddress: '127.0.0.1', localBindPort: 9191, protocol: 'http2',
    endpoints: [{ id: 'n1/api-sidecar-proxy', address: '10.0.0.1', port: 21000, spiffeId: 'spiffe://abc.consul/ns/default/dc/dc1/svc/api', weight: 1, subset: 'v1' }],
    connectTimeoutMs: 5000, requestTimeoutMs: 15000, split: [{ subset: 'v1', weight: 100 }], limits: { maxConnections: 10 },
  }],
}
const body = { ProxyID: 'web-sidecar-proxy', Snapshot: snapshot, Intentions: [{ SourceName: 'x' }], DefaultIntentionPolicy: 'deny' }

t.test('a well-formed body gives back the snapshot data, the raw intentions and the default policy', async (t) => {
  const parsed = parseSidecarSnapshotBody(JSON.parse(JSON.stringify(body)))
  t.same(parsed.snapshot, snapshot)
  t.same(parsed.intentions, [{ SourceName: 'x' }])
  t.equal(parsed.defaultPolicy, 'deny')
})

t.test('unknown fields are dropped', async (t) => {
  const parsed = parseSidecarSnapshotBody({ ...body, Snapshot: { ...snapshot, authorize: 'nope', extra: 1 } })
  t.notOk('extra' in parsed.snapshot)
  t.notOk('authorize' in parsed.snapshot)
})

t.test('a field of the wrong type is refused with its path', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /the body must be an object/],
    [{ ...body, Snapshot: { ...snapshot, upstreams: {} } }, /Snapshot\.upstreams must be an array/],
    [{ ...body, Snapshot: { ...snapshot, inbound: { ...snapshot.inbound, protocol: 'udp' } } }, /Snapshot\.inbound\.protocol must be tcp, http or http2/],
    [{ ...body, Snapshot: { ...snapshot, upstreams: [{ ...snapshot.upstreams[0], endpoints: [{ id: 1 }] }] } }, /Snapshot\.upstreams\[0\]\.endpoints\[0\]\.id must be a string/],
    [{ ...body, Snapshot: { ...snapshot, inbound: { ...snapshot.inbound, rateLimits: [{ scope: 'all' }] } } }, /rateLimits\[0\]\.scope must be service, consumer or path/],
    [{ ...body, Intentions: 'all' }, /Intentions must be an array/],
    [{ ...body, DefaultIntentionPolicy: 'maybe' }, /DefaultIntentionPolicy must be allow or deny/],
  ]
  for (const [input, message] of cases) {
    t.throws(() => parseSidecarSnapshotBody(input), { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT', message }, String(message))
  }
})
