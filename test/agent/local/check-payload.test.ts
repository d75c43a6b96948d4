import t from 'tap'
import { normalizeCheckPayload } from '../../../agent/local/check-payload.ts'
import type { CheckPayloadContext } from '../../../agent/local/check-payload.ts'

const standalone: CheckPayloadContext = { enableScriptChecks: false, nodeName: 'node-1', lookupService: id => id === 'web' ? { ID: 'web', Service: 'web', Tags: ['t'] } : undefined }

t.test('each probe kind normalises to its definition', async t => {
  const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{ Name: 'h', HTTP: 'https://127.0.0.1/x', Interval: '10s', Timeout: '2s', Method: 'post', Header: { A: ['1', '2'] }, Body: 'b', TLSSkipVerify: true, TLSServerName: 'svc' },
      { Type: 'http', HTTP: 'https://127.0.0.1/x', Method: 'POST', Header: { A: ['1', '2'] }, Body: 'b', TLSSkipVerify: true, TLSServerName: 'svc', IntervalMs: 10_000, TimeoutMs: 2000 }],
    [{ Name: 't', TCP: '127.0.0.1:22', Interval: '1m' }, { Type: 'tcp', TCP: '127.0.0.1:22', IntervalMs: 60_000 }],
    [{ Name: 'g', GRPC: '127.0.0.1:9090/health', GRPCUseTLS: true, Interval: '5s' },
      { Type: 'grpc', GRPC: '127.0.0.1:9090/health', GRPCUseTLS: true, TLSSkipVerify: false, TLSServerName: '', IntervalMs: 5000 }],
    [{ Name: 'l', TTL: '30s', SuccessBeforePassing: 2, FailuresBeforeCritical: 3, DeregisterCriticalServiceAfter: '90m' },
      { Type: 'ttl', TTLMs: 30_000, SuccessBeforePassing: 2, FailuresBeforeCritical: 3, DeregisterCriticalServiceAfterMs: 5_400_000 }],
    [{ Name: 'a', AliasService: 'web' }, { Type: 'alias', AliasService: 'web', AliasNode: '' }],
    [{ Name: 'n', TTL: 15_000_000_000 }, { Type: 'ttl', TTLMs: 15_000 }],
  ]
  for (const [payload, definition] of cases) {
    t.same(normalizeCheckPayload(payload, standalone).Definition, definition, String(payload.Name))
  }
})

t.test('a standalone check: ID defaults to Name, status to critical, service fields from its service', async t => {
  t.same(normalizeCheckPayload({ Name: 'mem', TTL: '10s', ServiceID: 'web', Notes: 'n' }, standalone), {
    CheckID: 'mem', Name: 'mem', Status: 'critical', Notes: 'n', Output: '', ServiceID: 'web', ServiceName: 'web', ServiceTags: ['t'],
    Type: 'ttl', Definition: { Type: 'ttl', TTLMs: 10_000 },
  })
  const interval = normalizeCheckPayload({ CheckID: 'c', Name: 'x', TCP: '127.0.0.1:1', Interval: '1500ms', Status: 'passing' }, standalone)
  t.same([interval.CheckID, interval.Status, interval.Interval, interval.Timeout], ['c', 'passing', '1.5s', undefined])
})

t.test('an embedded check takes its service and the default ID and name', async t => {
  const check = normalizeCheckPayload({ ttl: '5s' }, { enableScriptChecks: false, owner: { ID: 'web-1', Service: 'web', Tags: [] }, defaultCheckId: 'service:web-1' })
  t.same([check.CheckID, check.Name, check.ServiceID, check.ServiceName], ['service:web-1', "Service 'web' check", 'web-1', 'web'])
})

const refusals: Array<[string, Record<string, unknown>, string | RegExp]> = [
  ['no probe and no TTL', { Name: 'x' }, 'Invalid check: TTL must be > 0 for TTL checks'],
  ['two probes', { Name: 'x', HTTP: 'http://a/', TCP: 'a:1', Interval: '1s' }, 'Invalid check: only one of HTTP, TCP, GRPC, Args, TTL, AliasService may be set, got HTTP and TCP'],
  ['alias with interval', { Name: 'x', AliasService: 'web', Interval: '1s' }, 'Invalid check: Interval cannot be set for Alias checks'],
  ['alias with TTL', { Name: 'x', AliasService: 'web', TTL: '1s' }, /only one of/],
  ['alias of another node', { Name: 'x', AliasService: 'web', AliasNode: 'node-2' }, 'Invalid check: AliasNode "node-2": alias checks can only follow services on this agent'],
  ['non-http URL', { Name: 'x', HTTP: 'ftp://a/', Interval: '1s' }, 'Invalid check: HTTP must be an http:// or https:// URL, got "ftp://a/"'],
  ['bad method', { Name: 'x', HTTP: 'http://a/', Method: 'GET /', Interval: '1s' }, 'Invalid check: Method "GET /" is not an HTTP method'],
  ['header value not an array', { Name: 'x', HTTP: 'http://a/', Header: { A: 'b' }, Interval: '1s' }, 'Invalid check: Header "A" must be an array of strings without line breaks'],
  ['header injection', { Name: 'x', HTTP: 'http://a/', Header: { A: ['b\r\nX: y'] }, Interval: '1s' }, /without line breaks/],
  ['gRPC without port', { Name: 'x', GRPC: 'host/svc', Interval: '1s' }, 'Invalid check: GRPC must be host:port or host:port/service, got "host/svc"'],
  ['empty Args', { Name: 'x', Args: [], Interval: '1s' }, /Args must name the program/],
  ['Script string', { Name: 'x', Script: 'true', Interval: '1s' }, 'Invalid check: Script is not supported; give the command as an Args array'],
  ['docker check', { Name: 'x', DockerContainerID: 'c', Interval: '1s' }, /DockerContainerID checks are not supported/],
  ['negative counter', { Name: 'x', TTL: '1s', FailuresBeforeCritical: -1 }, 'Invalid check: FailuresBeforeCritical must be an integer between 0 and 1000000'],
  ['not an object', [] as unknown as Record<string, unknown>, 'Invalid check: a check definition must be an object'],
]

for (const [name, payload, message] of refusals) {
  t.test(`refused: ${name}`, async t => {
    t.throws(() => normalizeCheckPayload(payload, standalone), { code: 'MESH_ERR_LOCAL_INVALID_CHECK', message })
  })
}

t.test('script checks: refused unless enabled, with their own code', async t => {
  t.throws(() => normalizeCheckPayload({ Name: 's', Args: ['/bin/true'], Interval: '1s' }, standalone), { code: 'MESH_ERR_LOCAL_SCRIPT_CHECKS_DISABLED' })
  const check = normalizeCheckPayload({ Name: 's', ScriptArgs: ['/bin/true', '-v'], Interval: '1s' }, { ...standalone, enableScriptChecks: true })
  t.same(check.Definition, { Type: 'script', Args: ['/bin/true', '-v'], IntervalMs: 1000 })
})

t.test('a check for an unknown service is refused with its own code', async t => {
  t.throws(() => normalizeCheckPayload({ Name: 'x', TTL: '1s', ServiceID: 'db' }, standalone), { code: 'MESH_ERR_LOCAL_UNKNOWN_SERVICE', message: 'ServiceID "db" does not exist' })
})
