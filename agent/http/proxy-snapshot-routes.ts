// mesh-only `GET /v1/mesh/proxy/:id/snapshot`: what a standalone `mesh proxy --sidecar-for` runs,
// built by the same code as the agent's in-process sidecars (agent/connect/build-snapshot.ts), so
// the proxy process needs nothing of the catalog. The answer carries the snapshot's data and the
// intentions that can govern the destination (proxy/snapshot-wire.ts); it blocks Consul-style on
// `?index=&wait=` until the catalog (registrations, health, intentions, config entries, CA roots)
// or the destination's leaf certificate moves.

import type { FastifyInstance } from 'fastify'
import type { IntentionStore } from '../../api/intentions/index.ts'
import type { ProxySnapshot } from '../../proxy/snapshot.ts'
import type { SidecarSnapshotBody } from '../../proxy/snapshot-wire.ts'
import type { BlockingSource } from './blocking.ts'
import { waitForBlocking } from './blocking.ts'
import { notFound, unavailable } from './errors.ts'

export interface ProxySnapshotRouteDeps {
  /** The destination service of connect-proxy `proxyId` on this agent; undefined when there is none. */
  destinationOf (proxyId: string): string | undefined
  /** Moves whenever something the snapshot of a sidecar for `destination` is built from changes; throws when the CA is not ready. */
  source (destination: string): BlockingSource
  /** The snapshot the in-process sidecar would run; undefined while the CA or the leaf is not ready. */
  snapshot (proxyId: string): ProxySnapshot | undefined
  intentions: Pick<IntentionStore, 'match' | 'defaultPolicy'>
  /** Blocking jitter source; injectable for tests. */
  random?: () => number
}

const proxyParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 256 } },
} as const

export function registerProxySnapshotRoutes (app: FastifyInstance, deps: ProxySnapshotRouteDeps): void {
  app.get<{ Params: { id: string } }>('/v1/mesh/proxy/:id/snapshot', { schema: { params: proxyParams } }, async (request, reply): Promise<SidecarSnapshotBody> => {
    const { id } = request.params
    const destination = deps.destinationOf(id)
    if (destination === undefined) throw notFound(`no connect-proxy service "${id}" on this agent`)
    let source: BlockingSource
    try {
      source = deps.source(destination)
    } catch (error) {
      throw unavailable((error as Error).message)
    }
    await waitForBlocking(request, reply, source, deps.random)
    const built = deps.snapshot(id)
    if (built === undefined) throw unavailable(`the snapshot of "${id}" cannot be built yet: the CA or its leaf certificate is not ready`)
    const { authorize: _authorize, ...snapshot } = built
    return {
      ProxyID: id,
      Snapshot: snapshot,
      Intentions: deps.intentions.match('destination', snapshot.serviceName),
      DefaultIntentionPolicy: deps.intentions.defaultPolicy,
    }
  })
}
