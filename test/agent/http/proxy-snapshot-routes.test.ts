// GET /v1/mesh/proxy/:id/snapshot: a standalone sidecar's snapshot data with the intentions of its
// destination, 404 for an unknown proxy, 503 until it can be built, blocking until its inputs move.
import t from 'tap'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { combinedSource } from '../../../agent/http/blocking.ts'
import type { BlockingSource } from '../../../agent/http/blocking.ts'
import { registerProxySnapshotRoutes } from '../../../agent/http/proxy-snapshot-routes.ts'
import { IntentionStore } from '../../../api/intentions/index.ts'
import type { Intention } from '../../../api/intentions/model.ts'
import type { ProxySnapshot } from '../../../proxy/snapshot.ts'

/** A blocking source whose index the test moves. */
class ManualSource implements BlockingSource {
  index = 1
  private waiters: Array<() => void> = []
  async waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    if (this.index > minIndex || options.signal?.aborted === true) return this.index
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.timeoutMs)
      const done = (): void => { clearTimeout(timer); resolve() }
      this.waiters.push(done)
      options.signal?.addEventListener('abort', done, { once: true })
    })
    return this.index
  }

  bump (): void {
    this.index++
    for (const waiter of this.waiters.splice(0)) waiter()
  }
}

const intention = (source: string, destination: string): Intention => ({
  ID: `${source}-${destination}`, SourceName: source, DestinationName: destination, SourceType: 'consul', Action: 'allow',
  Precedence: source === '*' ? 8 : 9, Meta: {}, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
} as unknown as Intention)

function snapshotOf (proxyId: string): ProxySnapshot {
  return {
    proxyId, serviceName: 'web', trustDomain: 'abc.consul', datacenter: 'dc1',
    tls: { certChainPem: 'CERT', keyPem: 'KEY', rootsPem: ['ROOT'] },
    inbound: { bindAddress: '127.0.0.1', bindPort: 21000, localServiceAddress: '127.0.0.1', localServicePort: 8080, protocol: 'http' },
    upstreams: [],
    authorize: () => ({ allowed: true, reason: 'test' }),
  }
}

async function setup (t: { teardown: (fn: () => Promise<void>) => void }, ready = true) {
  const catalog = new ManualSource()
  const leaf = new ManualSource()
  const intentions = new IntentionStore({ defaultPolicy: 'deny', intentions: [intention('api', 'web'), intention('*', 'web'), intention('web', 'db')] })
  const app = buildHttpServer()
  registerProxySnapshotRoutes(app, {
    destinationOf: (proxyId) => proxyId === 'web-sidecar-proxy' ? 'web' : undefined,
    source: () => combinedSource(catalog, leaf),
    snapshot: (proxyId) => ready ? snapshotOf(proxyId) : undefined,
    intentions,
    random: () => 0,
  })
  t.teardown(async () => { await app.close() })
  return { app, catalog, leaf }
}

t.test('the snapshot data travels with the intentions that can govern its destination', async (t) => {
  const { app } = await setup(t)
  const response = await app.inject({ method: 'GET', url: '/v1/mesh/proxy/web-sidecar-proxy/snapshot' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-consul-index'], '2', 'the sum of the catalog and leaf indexes')
  const body = response.json()
  t.equal(body.ProxyID, 'web-sidecar-proxy')
  t.equal(body.Snapshot.serviceName, 'web')
  t.notOk('authorize' in body.Snapshot, 'a function does not travel')
  t.same(body.Intentions.map((item: Intention) => `${item.SourceName}->${item.DestinationName}`), ['api->web', '*->web'])
  t.equal(body.DefaultIntentionPolicy, 'deny')
})

t.test('an unknown proxy is 404, one whose CA or leaf is not ready is 503', async (t) => {
  const { app } = await setup(t)
  t.equal((await app.inject({ method: 'GET', url: '/v1/mesh/proxy/nope/snapshot' })).statusCode, 404)
  const notReady = await setup(t, false)
  const response = await notReady.app.inject({ method: 'GET', url: '/v1/mesh/proxy/web-sidecar-proxy/snapshot' })
  t.equal(response.statusCode, 503)
  t.match(response.body, /cannot be built yet/)
})

t.test('a blocking query returns when the catalog or the leaf moves', async (t) => {
  const { app, catalog, leaf } = await setup(t)
  for (const [name, source, index] of [['catalog', catalog, '3'], ['leaf', leaf, '4']] as const) {
    const pending = app.inject({ method: 'GET', url: `/v1/mesh/proxy/web-sidecar-proxy/snapshot?index=${Number(index) - 1}&wait=30s` })
    let answered = false
    void pending.then(() => { answered = true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    t.notOk(answered, `still waiting before the ${name} moves`)
    source.bump()
    t.equal((await pending).headers['x-consul-index'], index, `answers after the ${name} moves`)
  }
})
