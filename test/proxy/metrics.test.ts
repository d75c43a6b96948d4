import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Registry } from 'prom-client'
import { cleanupPki } from './fixtures/certs.ts'
import { get } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'
import { sampleMap } from '../fixtures/prometheus.ts'

t.teardown(cleanupPki)

const PROMTOOL = '/usr/bin/promtool'

t.test('metrics after traffic parse and carry the documented series', async (t) => {
  const mesh = await startTopology()
  for (let i = 0; i < 5; i++) await get(mesh.port, '/', mesh.agent)
  await get(mesh.port, '/status/404', mesh.agent)
  const text = await mesh.web.metrics()
  const samples = sampleMap(text)
  t.equal(samples.get('mesh_proxy_requests_total{proxy="web-sidecar-proxy",direction="outbound",source="web",destination="api",code="200"}'), 5)
  t.equal(samples.get('mesh_proxy_requests_total{proxy="web-sidecar-proxy",direction="outbound",source="web",destination="api",code="404"}'), 1)
  t.equal(samples.get('mesh_proxy_request_duration_seconds_count{proxy="web-sidecar-proxy",direction="outbound",destination="api"}'), 6)
  for (const name of ['mesh_proxy_tls_handshake_failures_total', 'mesh_proxy_authorization_denials_total', 'mesh_proxy_retries_total', 'mesh_proxy_outlier_ejections_total']) {
    t.match(text, `# TYPE ${name} counter`)
  }
  const inbound = sampleMap(await mesh.apiSidecars[0]!.metrics())
  const inboundRequests = [...inbound].filter(([key]) => key.startsWith('mesh_proxy_requests_total{') && key.includes('direction="inbound",source="web",destination="api"'))
  t.ok(inboundRequests.length > 0, 'the inbound side counts requests by source')

  await t.test('promtool accepts the exposition', { skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} is not installed (Debian package prometheus)` }, async (t) => {
    const lint = await new Promise<{ code: number, output: string }>((resolve) => {
      const child = execFile(PROMTOOL, ['check', 'metrics'], (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : (typeof error.code === 'number' ? error.code : 1), output: stdout + stderr })
      })
      child.stdin!.end(text)
    })
    t.equal(lint.code, 0, `promtool check metrics: ${lint.output}`)
  })
  await mesh.stop()
})

t.test('mesh_proxy_split_weight shows the split each upstream runs, replaced on update, gone on stop', async (t) => {
  const registry = new Registry()
  const mesh = await startTopology({
    subsets: ['v1', 'v2'],
    upstream: { split: [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }] },
    webInit: { metricsRegistry: registry },
  })
  const weights = async (): Promise<Array<[string, number]>> => [...sampleMap(await registry.metrics())]
    .filter(([key]) => key.startsWith('mesh_proxy_split_weight{'))
  t.same(await weights(), [
    ['mesh_proxy_split_weight{proxy="web-sidecar-proxy",destination="api",subset="v1"}', 90],
    ['mesh_proxy_split_weight{proxy="web-sidecar-proxy",destination="api",subset="v2"}', 10],
  ], 'the split the sidecar started with')

  const base = mesh.webSnapshot.upstreams[0]!
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, split: [{ subset: 'v2', weight: 60 }, { subset: '', weight: 25 }, { subset: 'v2', weight: 15 }] }] })
  t.same(await weights(), [
    ['mesh_proxy_split_weight{proxy="web-sidecar-proxy",destination="api",subset="v2"}', 75],
    ['mesh_proxy_split_weight{proxy="web-sidecar-proxy",destination="api",subset=""}', 25],
  ], 'an update replaces every leg; legs to one subset add up; v1 is gone')

  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, split: undefined }] })
  t.same(await weights(), [], 'an upstream without a split has no series')

  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, split: [{ subset: 'v1', weight: 100 }] }] })
  t.equal((await weights()).length, 1)
  await mesh.stop()
  t.same(await weights(), [], 'a stopped sidecar leaves no series in a shared registry')
})
