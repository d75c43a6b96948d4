import t from 'tap'
import { normalizeServicePayload } from '../../../agent/local/service-payload.ts'
import type { ServiceRecord } from '../../../api/catalog-types.ts'

const context = (localServices: ServiceRecord[] = []) => ({ enableScriptChecks: false, nodeName: 'node-1', localServices })
const record = (ID: string, Port: number): ServiceRecord => ({
  ID, Service: ID, Tags: [], Address: '', Port, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
})

t.test('defaults: ID from Name, weights 1/1, empty tags and meta', async t => {
  t.same(normalizeServicePayload({ Name: 'web' }, context()), {
    service: { ID: 'web', Service: 'web', Tags: [], Address: '', Port: 0, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false },
    checks: [],
  })
})

t.test('fields are carried as given', async t => {
  const { service } = normalizeServicePayload({
    ID: 'web-1', Name: 'web', Tags: ['a'], Address: '10.0.0.1', Port: 80, Meta: { version: '2' }, Weights: { Passing: 3, Warning: 0 },
    EnableTagOverride: true, TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 80 } },
  }, context())
  t.same(service, {
    ID: 'web-1', Service: 'web', Tags: ['a'], Address: '10.0.0.1', Port: 80, Meta: { version: '2' }, Weights: { Passing: 3, Warning: 0 },
    EnableTagOverride: true, TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 80 } },
  })
})

t.test('check IDs: service:<id> for one check, service:<id>:<n> for several, Check first', async t => {
  t.same(normalizeServicePayload({ Name: 'web', Check: { TTL: '1s' } }, context()).checks.map(check => check.CheckID), ['service:web'])
  t.same(normalizeServicePayload({ Name: 'web', Check: { TTL: '1s' }, Checks: [{ TTL: '2s' }, { CheckID: 'mine', TTL: '3s' }] }, context())
    .checks.map(check => [check.CheckID, check.Definition?.TTLMs]), [['service:web:1', 1000], ['service:web:2', 2000], ['mine', 3000]])
})

t.test('empty check entries are skipped as Consul does', async t => {
  t.same(normalizeServicePayload({ Name: 'web', Check: {}, Checks: [{ Name: '', TTL: null }, { TTL: '1s' }] }, context())
    .checks.map(check => check.CheckID), ['service:web'])
})

t.test('a connect-proxy registration keeps its Proxy, with upstream defaults', async t => {
  const { service } = normalizeServicePayload({
    Name: 'web-proxy', Kind: 'connect-proxy', Port: 21000,
    Proxy: { DestinationServiceName: 'web', LocalServicePort: 8080, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] },
  }, context())
  t.same(service.Proxy, {
    DestinationServiceName: 'web', LocalServicePort: 8080,
    Upstreams: [{ DestinationName: 'db', DestinationType: 'service', LocalBindAddress: '127.0.0.1', LocalBindPort: 9191 }],
  })
})

t.test('sidecar: defaults as Consul', async t => {
  const { service, sidecar } = normalizeServicePayload({
    Name: 'web', Port: 8080, Address: '10.0.0.5', Meta: { v: '1' }, Connect: { SidecarService: {} },
  }, context())
  t.same(service.Connect, { SidecarService: {} })
  t.same(sidecar?.service, {
    ID: 'web-sidecar-proxy', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Tags: [], Address: '10.0.0.5', Port: 21000,
    Meta: { v: '1' }, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
    Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web', LocalServiceAddress: '127.0.0.1', LocalServicePort: 8080, Upstreams: [] },
  })
  t.same(sidecar?.checks.map(check => [check.CheckID, check.Name, check.Status, check.ServiceID, check.Definition]), [
    ['service:web-sidecar-proxy:1', 'Connect Sidecar Listening', 'critical', 'web-sidecar-proxy', { Type: 'tcp', TCP: '10.0.0.5:21000', IntervalMs: 10_000 }],
    ['service:web-sidecar-proxy:2', 'Connect Sidecar Aliasing web', 'critical', 'web-sidecar-proxy', { Type: 'alias', AliasService: 'web', AliasNode: '' }],
  ])
})

t.test('sidecar without an address: the TCP check probes where the sidecar listens, the agent\'s address', async t => {
  const tcp = (nodeAddress: string | undefined): unknown => normalizeServicePayload({ Name: 'web', Port: 8080, Connect: { SidecarService: {} } },
    { ...context(), nodeAddress }).sidecar?.checks[0]?.Definition
  t.match(tcp('10.1.2.3'), { Type: 'tcp', TCP: '10.1.2.3:21000' }, 'not 127.0.0.1, where nothing of this sidecar listens')
  t.match(tcp('fd00::1'), { TCP: '[fd00::1]:21000' })
  t.match(tcp(undefined), { TCP: '127.0.0.1:21000' }, 'unknown agent address: loopback, as Consul')
})

t.test('sidecar: given port, name, tags, proxy settings and checks win over defaults', async t => {
  const { sidecar } = normalizeServicePayload({
    Name: 'web', ID: 'web-1', Port: 8080, Tags: ['parent'],
    Connect: { SidecarService: { Name: 'edge', Port: 30000, Tags: ['own'], Proxy: { LocalServicePort: 9999, Config: { protocol: 'http' } }, Check: { TTL: '10s' } } },
  }, context())
  t.match(sidecar?.service, { ID: 'web-1-sidecar-proxy', Service: 'edge', Port: 30000, Tags: ['own'], Proxy: { DestinationServiceID: 'web-1', LocalServicePort: 9999, Config: { protocol: 'http' } } })
  t.same(sidecar?.checks.map(check => check.CheckID), ['service:web-1-sidecar-proxy'])
})

t.test('sidecar port: the lowest in 21000-21255 not used by a local service, the old one on re-registration', async t => {
  const taken = [record('a', 21000), record('b', 21001), record('c', 21003)]
  t.equal(normalizeServicePayload({ Name: 'web', Connect: { SidecarService: {} } }, context(taken)).sidecar?.service.Port, 21002)
  t.equal(normalizeServicePayload({ Name: 'web', Port: 21002, Connect: { SidecarService: {} } }, context(taken)).sidecar?.service.Port, 21004, "the service's own port is taken too")
  const existing = { ...record('web-sidecar-proxy', 21100), Kind: 'connect-proxy' as const }
  t.equal(normalizeServicePayload({ Name: 'web', Connect: { SidecarService: {} } }, context([...taken, existing])).sidecar?.service.Port, 21100)
  const full = Array.from({ length: 256 }, (_, index) => record(`s${index}`, 21000 + index))
  t.throws(() => normalizeServicePayload({ Name: 'web', Connect: { SidecarService: {} } }, context(full)), { code: 'MESH_ERR_LOCAL_SIDECAR_PORT_EXHAUSTED' })
})

const refusals: Array<[string, unknown, string | RegExp]> = [
  ['missing name', { ID: 'x' }, 'Missing service name'],
  ['ID with a slash', { Name: 'a/b' }, /must not contain "\/"/],
  ['unknown kind', { Name: 'gw', Kind: 'mesh-gateway' }, 'Invalid service: Kind "mesh-gateway" is not supported; use "" or "connect-proxy"'],
  ['proxy without port', { Name: 'p', Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web' } }, 'Port must be set for a Connect proxy'],
  ['Proxy on a typical service', { Name: 'web', Proxy: { DestinationServiceName: 'x' } }, 'Invalid service: Proxy may only be set on a service of Kind "connect-proxy"'],
  ['native proxy', { Name: 'p', Kind: 'connect-proxy', Port: 1, Proxy: { DestinationServiceName: 'w' }, Connect: { Native: true } }, 'A Proxy cannot also be Connect Native, only typical services'],
  ['meta key with a dot', { Name: 'web', Meta: { 'a.b': 'x' } }, /Invalid Service Meta: key "a.b"/],
  ['reserved meta prefix', { Name: 'web', Meta: { 'consul-x': 'x' } }, /reserved "consul-" prefix/],
  ['meta value not a string', { Name: 'web', Meta: { a: 1 } }, 'Invalid service: Meta must be an object of string values'],
  ['tagged address without object', { Name: 'web', TaggedAddresses: { lan: 'x' } }, /TaggedAddresses.lan must be an object/],
  ['duplicate check IDs', { Name: 'web', Checks: [{ CheckID: 'a', TTL: '1s' }, { CheckID: 'a', TTL: '2s' }] }, /duplicate check ID "a"/],
  ['sidecar with foreign ID', { Name: 'web', Connect: { SidecarService: { ID: 'other' } } }, /ID cannot be set: a sidecar's ID is always "web-sidecar-proxy"/],
  ['nested sidecar', { Name: 'web', Connect: { SidecarService: { Connect: { SidecarService: {} } } } }, /nested SidecarService/],
  ['duplicate upstream bind', { Name: 'web', Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'a', LocalBindPort: 1 }, { DestinationName: 'b', LocalBindPort: 1 }] } } } }, /cannot bind the same address 127.0.0.1:1 twice/],
]

for (const [name, payload, message] of refusals) {
  t.test(`refused: ${name}`, async t => {
    t.throws(() => normalizeServicePayload(payload, context()), { message })
  })
}
