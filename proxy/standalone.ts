// `mesh proxy --sidecar-for ID`: a sidecar in its own process, configured only through the local
// agent's HTTP API. It claims the sidecar from the agent (which then stops its in-process copy),
// renews the claim while it runs, and rebuilds its snapshot whenever a blocking query on the
// catalog (registrations, health, intentions and config entries all move its index) or on the
// service's leaf certificate returns. On SIGINT/SIGTERM it drains, releases the claim and exits.

import { pino } from 'pino'
import type { Logger } from 'pino'
import type { StandaloneProxyOptions } from '../api/proxy-options.ts'
import type { HealthServiceResult } from '../catalog/queries.ts'
import type { ServiceRecord } from '../api/catalog-types.ts'
import { IntentionStore } from '../api/intentions/index.ts'
import { validateStoredIntention } from '../api/intentions/validate.ts'
import type { Intention } from '../api/intentions/model.ts'
import { compileFilter } from '../catalog/filter.ts'
import { buildProxySnapshot } from '../agent/connect/build-snapshot.ts'
import { startSidecar } from './sidecar.ts'
import type { Sidecar } from './sidecar.ts'
import type { ProxySnapshot } from './snapshot.ts'

const CLAIM_TTL = '30s'
const CLAIM_RENEW_MS = 10_000
const WAIT = '60s'
const RETRY_MS = 2000

export class StandaloneProxyError extends Error {
  readonly code = 'MESH_ERR_STANDALONE_PROXY'
  constructor (message: string) {
    super(message)
    this.name = 'StandaloneProxyError'
  }
}

interface Answer<T> { status: number, index: number, body: T }

class AgentClient {
  private readonly base: string
  constructor (base: string) { this.base = base.replace(/\/$/, '') }

  async call<T> (method: string, path: string, signal?: AbortSignal): Promise<Answer<T>> {
    let response: Response
    try {
      response = await fetch(this.base + path, { method, signal })
    } catch (error) {
      if (signal?.aborted === true) throw error
      throw new StandaloneProxyError(`cannot reach the agent at ${this.base}: ${(error as Error).message}`)
    }
    const text = await response.text()
    if (response.status >= 500 || (response.status >= 400 && response.status !== 404)) {
      throw new StandaloneProxyError(`${method} ${path.split('?')[0]} failed with ${response.status}: ${text.trim()}`)
    }
    let body: unknown
    try { body = text === '' ? undefined : JSON.parse(text) } catch { body = text }
    return { status: response.status, index: Number(response.headers.get('x-consul-index') ?? 0), body: body as T }
  }
}

interface Inputs { snapshot: ProxySnapshot, catalogIndex: number, leafIndex: number }

async function gather (client: AgentClient, proxyId: string, log: Logger): Promise<Inputs> {
  const proxy = await client.call<ServiceRecord & { Kind?: string }>('GET', `/v1/agent/service/${encodeURIComponent(proxyId)}`)
  if (proxy.status === 404 || proxy.body.Proxy === undefined) throw new StandaloneProxyError(`no connect-proxy service "${proxyId}" is registered on this agent`)
  const destination = proxy.body.Proxy.DestinationServiceName
  const [self, roots, leaf, catalog, intentions] = await Promise.all([
    client.call<{ Config: { NodeName: string, Datacenter: string, DefaultIntentionPolicy?: 'allow' | 'deny' }, Member: { Addr: string } | null }>('GET', '/v1/agent/self'),
    client.call<{ TrustDomain: string, Roots: Array<{ RootCert: string }> }>('GET', '/v1/agent/connect/ca/roots'),
    client.call<{ CertPEM: string, PrivateKeyPEM: string }>('GET', `/v1/agent/connect/ca/leaf/${encodeURIComponent(destination)}`),
    client.call<Record<string, string[]>>('GET', '/v1/catalog/services'),
    client.call<unknown[]>('GET', '/v1/connect/intentions'),
  ])
  const store = new IntentionStore({ defaultPolicy: self.body.Config.DefaultIntentionPolicy ?? 'deny', log })
  const valid: Intention[] = []
  for (const raw of intentions.body) {
    try { valid.push(validateStoredIntention(raw)) } catch (error) { log.warn({ err: (error as Error).message }, 'ignored an invalid intention') }
  }
  store.replaceAll(valid)
  const names = [destination, ...(proxy.body.Proxy.Upstreams ?? []).map((upstream) => upstream.DestinationName)]
  const entries = new Map<string, Record<string, unknown>>()
  const sidecars = new Map<string, HealthServiceResult[]>()
  await Promise.all(names.flatMap((name) => [
    ...['service-defaults', 'service-resolver', 'service-splitter'].map(async (kind) => {
      const answer = await client.call<Record<string, unknown>>('GET', `/v1/config/${kind}/${encodeURIComponent(name)}`)
      if (answer.status === 200) entries.set(`${kind}/${name}`, answer.body)
    }),
    (async () => { sidecars.set(name, (await client.call<HealthServiceResult[]>('GET', `/v1/health/connect/${encodeURIComponent(name)}`)).body) })(),
  ]))
  const global = await client.call<Record<string, unknown>>('GET', '/v1/config/proxy-defaults/global')
  if (global.status === 200) entries.set('proxy-defaults/global', global.body)
  const snapshot = buildProxySnapshot({
    proxy: proxy.body,
    nodeAddress: self.body.Member?.Addr ?? '127.0.0.1',
    trustDomain: roots.body.TrustDomain,
    datacenter: self.body.Config.Datacenter,
    leaf: leaf.body,
    rootsPem: roots.body.Roots.map((root) => root.RootCert),
    configEntry: (kind, name) => entries.get(`${kind}/${name}`),
    sidecarsOf: (service) => sidecars.get(service) ?? [],
    authorizer: (name, protocol) => store.authorizer(name, { protocol }),
    compileFilter,
    warn: (message) => log.warn(message),
  })
  return { snapshot, catalogIndex: catalog.index, leafIndex: leaf.index }
}

export async function runStandaloneProxy (options: StandaloneProxyOptions): Promise<void> {
  const root = pino({ level: options.logLevel ?? 'info', base: undefined })
  const log = root.child({ component: 'mesh:standalone', sidecarFor: options.sidecarFor })
  const client = new AgentClient(options.httpAddr)
  const services = await client.call<Record<string, ServiceRecord>>('GET', '/v1/agent/services')
  const proxy = Object.values(services.body).find((service) =>
    service.Kind === 'connect-proxy' && (service.ID === options.sidecarFor || service.Proxy?.DestinationServiceID === options.sidecarFor))
  if (proxy === undefined) throw new StandaloneProxyError(`no sidecar is registered for "${options.sidecarFor}" on the agent at ${options.httpAddr}`)
  const proxyId = proxy.ID
  const claim = async (): Promise<void> => { await client.call('PUT', `/v1/mesh/proxy/${encodeURIComponent(proxyId)}/claim?ttl=${CLAIM_TTL}`) }
  await claim()
  const renew = setInterval(() => { claim().catch((error: Error) => log.warn({ err: error.message }, 'claim renewal failed')) }, CLAIM_RENEW_MS)

  const abort = new AbortController()
  let sidecar: Sidecar | undefined
  let inputs: Inputs | undefined
  // The agent's in-process copy needs a moment to release the listener after the claim.
  for (let attempt = 0; sidecar === undefined; attempt++) {
    try {
      inputs = await gather(client, proxyId, log)
      sidecar = await startSidecar({ snapshot: inputs.snapshot, log: root })
    } catch (error) {
      if (attempt >= 10) { clearInterval(renew); throw error }
      log.debug({ err: (error as Error).message }, 'sidecar not started yet, retrying')
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  log.info({ ports: sidecar.ports() }, 'standalone sidecar started')

  const shutdown = async (): Promise<void> => {
    abort.abort()
    clearInterval(renew)
    await sidecar?.stop({ drainMs: 5000 })
    await client.call('DELETE', `/v1/mesh/proxy/${encodeURIComponent(proxyId)}/claim`).catch(() => {})
    process.exit(0)
  }
  process.once('SIGINT', () => { void shutdown() })
  process.once('SIGTERM', () => { void shutdown() })

  const destination = inputs!.snapshot.serviceName
  while (!abort.signal.aborted) {
    try {
      const current = inputs!
      // Whichever changes first: the catalog (health, intentions, config) or the leaf (rotation).
      const race = new AbortController()
      const signal = AbortSignal.any([abort.signal, race.signal])
      await Promise.race([
        client.call('GET', `/v1/catalog/services?index=${current.catalogIndex}&wait=${WAIT}`, signal),
        client.call('GET', `/v1/agent/connect/ca/leaf/${encodeURIComponent(destination)}?index=${current.leafIndex}&wait=${WAIT}`, signal),
      ])
      race.abort()
      inputs = await gather(client, proxyId, log)
      await sidecar.update(inputs.snapshot)
    } catch (error) {
      if (abort.signal.aborted) break
      log.warn({ err: (error as Error).message }, 'configuration refresh failed, retrying')
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }
}
