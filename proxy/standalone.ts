// `mesh proxy --sidecar-for ID`: a sidecar in its own process, configured only through the local
// agent's HTTP API. It claims the sidecar from the agent (which then stops its in-process copy),
// renews the claim while it runs, and applies the snapshot the agent builds for it
// (`GET /v1/mesh/proxy/:id/snapshot`, the same one an in-process sidecar would run), blocking on it
// so every change of the catalog, intentions, config entries or the leaf certificate is applied.
// It knows nothing of the catalog: it only turns that JSON into a ProxySnapshot. On SIGINT/SIGTERM
// it drains, releases the claim and exits.

import { pino } from 'pino'
import type { Logger } from 'pino'
import { AgentClient, AgentResponseError } from '../api/agent-client.ts'
import type { AgentAnswer } from '../api/agent-client.ts'
import type { StandaloneProxyOptions } from '../api/proxy-options.ts'
import type { ServiceRecord } from '../api/catalog-types.ts'
import { IntentionStore } from '../api/intentions/index.ts'
import { validateStoredIntention } from '../api/intentions/validate.ts'
import type { Intention } from '../api/intentions/model.ts'
import { parseSidecarSnapshotBody } from './snapshot-wire.ts'
import { startSidecar } from './sidecar.ts'
import type { Sidecar } from './sidecar.ts'
import type { ProxySnapshot } from './snapshot.ts'

const CLAIM_TTL = '30s'
const CLAIM_RENEW_MS = 10_000
const WAIT = '60s'
/** The agent answers a blocking query within its wait plus up to wait/16 of jitter. */
const BLOCKING_TIMEOUT_MS = 60_000 * (1 + 1 / 16) + 10_000
const RETRY_MS = 2000

export class StandaloneProxyError extends Error {
  readonly code = 'MESH_ERR_STANDALONE_PROXY'
  constructor (message: string) {
    super(message)
    this.name = 'StandaloneProxyError'
  }
}

interface Inputs { snapshot: ProxySnapshot, index: number }

/**
 * The snapshot the agent builds for this sidecar, with the authorizer made here from the
 * intentions it sends (an intention that does not validate is ignored, as the agent ignores it).
 * With `index`, waits until the snapshot's inputs move past it (or `wait` passes).
 */
async function fetchSnapshot (client: AgentClient, proxyId: string, log: Logger, index?: number, signal?: AbortSignal): Promise<Inputs> {
  const path = `/v1/mesh/proxy/${encodeURIComponent(proxyId)}/snapshot`
  const blocking = index === undefined ? {} : { query: { index: String(index), wait: WAIT }, signal, timeoutMs: BLOCKING_TIMEOUT_MS }
  let answer: AgentAnswer<unknown>
  try {
    answer = await client.exchange<unknown>('GET', path, blocking)
  } catch (error) {
    if (error instanceof AgentResponseError && error.statusCode === 404) throw new StandaloneProxyError(`no connect-proxy service "${proxyId}" is registered on this agent`)
    throw error
  }
  const { snapshot, intentions, defaultPolicy } = parseSidecarSnapshotBody(answer.body)
  const valid: Intention[] = []
  for (const raw of intentions) {
    try { valid.push(validateStoredIntention(raw)) } catch (error) { log.warn({ err: (error as Error).message }, 'ignored an invalid intention') }
  }
  const store = new IntentionStore({ defaultPolicy, intentions: valid, log })
  return {
    snapshot: { ...snapshot, authorize: store.authorizer(snapshot.serviceName, { protocol: snapshot.inbound.protocol }) },
    index: answer.index,
  }
}

export async function runStandaloneProxy (options: StandaloneProxyOptions): Promise<void> {
  const root = pino({ level: options.logLevel ?? 'info', base: undefined })
  const log = root.child({ component: 'mesh:standalone', sidecarFor: options.sidecarFor })
  const client = new AgentClient(options.httpAddr)
  const services = await client.get<Record<string, ServiceRecord>>('/v1/agent/services')
  const proxy = Object.values(services).find((service) =>
    service.Kind === 'connect-proxy' && (service.ID === options.sidecarFor || service.Proxy?.DestinationServiceID === options.sidecarFor))
  if (proxy === undefined) throw new StandaloneProxyError(`no sidecar is registered for "${options.sidecarFor}" on the agent at ${options.httpAddr}`)
  const proxyId = proxy.ID
  const claim = async (): Promise<void> => { await client.put(`/v1/mesh/proxy/${encodeURIComponent(proxyId)}/claim`, undefined, { ttl: CLAIM_TTL }) }
  await claim()
  const renew = setInterval(() => { claim().catch((error: Error) => log.warn({ err: error.message }, 'claim renewal failed')) }, CLAIM_RENEW_MS)

  const abort = new AbortController()
  let sidecar: Sidecar | undefined
  let inputs: Inputs | undefined
  // The agent's in-process copy needs a moment to release the listener after the claim.
  for (let attempt = 0; sidecar === undefined; attempt++) {
    try {
      inputs = await fetchSnapshot(client, proxyId, log)
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
    await client.delete(`/v1/mesh/proxy/${encodeURIComponent(proxyId)}/claim`).catch(() => {})
    process.exit(0)
  }
  process.once('SIGINT', () => { void shutdown() })
  process.once('SIGTERM', () => { void shutdown() })

  while (!abort.signal.aborted) {
    try {
      inputs = await fetchSnapshot(client, proxyId, log, inputs!.index, abort.signal)
      await sidecar.update(inputs.snapshot)
    } catch (error) {
      if (abort.signal.aborted) break
      log.warn({ err: (error as Error).message }, 'configuration refresh failed, retrying')
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }
}
