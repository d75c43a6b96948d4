import t from 'tap'
import { metricsLayer } from '../../../proxy/layers/metrics.ts'
import { ProxyMetrics } from '../../../proxy/metrics.ts'
import { answer, fakeRequest } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

t.test('each answer is counted by direction, source, destination and code, with its latency', async (t) => {
  const clock = new ManualClock()
  const metrics = new ProxyMetrics('api-sidecar-proxy')
  const handler = metricsLayer({ metrics, clock })((request) => {
    clock.advance(request.path === '/slow' ? 300 : 2)
    return Promise.resolve(answer(request.path === '/missing' ? 404 : 200))
  })
  await handler(fakeRequest())
  await handler(fakeRequest({ path: '/slow' }))
  await handler(fakeRequest({ path: '/missing' }))
  const text = await metrics.registry.metrics()
  t.match(text, 'mesh_proxy_requests_total{proxy="api-sidecar-proxy",direction="inbound",source="web",destination="api",code="200"} 2')
  t.match(text, 'code="404"} 1')
  t.match(text, 'mesh_proxy_request_duration_seconds_bucket{le="0.0025",proxy="api-sidecar-proxy",direction="inbound",destination="api"} 2')
  t.match(text, 'mesh_proxy_request_duration_seconds_bucket{le="0.5",proxy="api-sidecar-proxy",direction="inbound",destination="api"} 3')
  t.equal(metrics.totals.requests, 3)
})

t.test('two sidecars can share one registry', async (t) => {
  const web = new ProxyMetrics('web-sidecar-proxy')
  const api = new ProxyMetrics('api-sidecar-proxy', web.registry)
  web.recordRetry('api', '503')
  api.recordEjection('db')
  const text = await web.registry.metrics()
  t.match(text, 'mesh_proxy_retries_total{proxy="web-sidecar-proxy",destination="api",reason="503"} 1')
  t.match(text, 'mesh_proxy_outlier_ejections_total{proxy="api-sidecar-proxy",destination="db"} 1')
})
