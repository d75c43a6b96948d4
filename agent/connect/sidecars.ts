// Runs the sidecar proxies of the services registered on this agent, in process. A connect-proxy
// service in the local catalog gets a sidecar; its snapshot is rebuilt whenever the catalog,
// intentions, config entries or certificates change (coalesced: many changes, one rebuild), and
// applied only when it differs, so unchanged snapshots cost no churn. The proxy code is imported
// on the first sidecar, never by an agent that runs none.
//
// A sidecar whose listener cannot bind (its port taken after registration, or at a restart with
// the service persisted) or fails later is reported to the check manager as a listener fault, so
// its checks turn critical with the reason ("listener on 127.0.0.1:21000: EADDRINUSE"); it is
// tried again on every reconcile (at least every LEAF_CHECK_INTERVAL_MS) and the fault cleared
// once it binds.

import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import type { Sidecar, SidecarListenerLimits } from '../../proxy/sidecar.ts'
import type { ProxySnapshot } from '../../proxy/snapshot.ts'
import { compileFilter } from '../../catalog/filter.ts'
import type { Catalog } from '../../catalog/catalog.ts'
import type { AgentCA } from './cluster-ca.ts'
import type { Startable } from '../lifecycle.ts'
import type { AgentPolicy } from './policy.ts'
import { buildProxySnapshot } from './build-snapshot.ts'

/** Leaves rotate in the background; this is how often a rotation is looked for. */
const LEAF_CHECK_INTERVAL_MS = 5000

interface Running { sidecar: Sidecar, key: string }

export interface SidecarManagerInit {
  /** Where this agent's services are reached from other agents. */
  nodeAddress: string
  datacenter: string
  /** Connection limits of every sidecar's listeners (the agent's `limits.proxy_*` keys). */
  listenerLimits?: SidecarListenerLimits
}

/** Where listener failures are reported (CheckManager.setListenerFault). */
export interface SidecarListenerHealth {
  setListenerFault (serviceId: string, reason: string | undefined): void
}

export interface SidecarManagerComponents {
  catalog: Pick<Catalog, 'onChange' | 'localService' | 'localServices' | 'healthService'>
  ca: Pick<AgentCA, 'onChange' | 'trustDomain' | 'leaf' | 'rootsPem'>
  policy: Pick<AgentPolicy, 'onChange' | 'configEntry' | 'intentions'>
  listenerHealth: SidecarListenerHealth
  log: Logger
}

/** "listener on host:port: CODE" for a bind or listener error, else undefined (not a listener problem). */
export function listenerFailure (error: unknown): string | undefined {
  const { code, address, port, syscall } = error as NodeJS.ErrnoException & { address?: string, port?: number }
  if (syscall !== 'listen' && syscall !== 'bind') return undefined
  if (address === undefined || port === undefined) return `listener: ${code ?? (error as Error).message}`
  return `listener on ${address.includes(':') ? `[${address}]` : address}:${port}: ${code ?? (error as Error).message}`
}

function snapshotKey (snapshot: ProxySnapshot): string {
  const { authorize: _authorize, ...rest } = snapshot
  return JSON.stringify(rest)
}

export class SidecarManager implements Startable {
  readonly metricsRegistry = new Registry()
  private readonly init: SidecarManagerInit
  private readonly components: SidecarManagerComponents
  private readonly running = new Map<string, Running>()
  private readonly unsubscribes: Array<() => void> = []
  private timer: NodeJS.Timeout | undefined
  private scheduled = false
  private reconciling: Promise<void> = Promise.resolve()
  private stopped = false
  /** Sidecars run by a standalone `mesh proxy` process, with when their claim lapses (ms). */
  private readonly claims = new Map<string, number>()
  /** Sidecars whose listener fault is reported, so it is cleared once they bind or go away. */
  private readonly faulted = new Set<string>()

  constructor (init: SidecarManagerInit, components: SidecarManagerComponents) {
    this.init = init
    this.components = components
  }

  start (): void {
    const trigger = (): void => this.trigger()
    this.unsubscribes.push(this.components.catalog.onChange(trigger), this.components.ca.onChange(trigger), this.components.policy.onChange(trigger))
    this.timer = setInterval(trigger, LEAF_CHECK_INTERVAL_MS)
    this.timer.unref()
    this.trigger()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    for (const unsubscribe of this.unsubscribes) unsubscribe()
    await this.reconciling
    await Promise.all([...this.running.values()].map(async ({ sidecar }) => await sidecar.stop({ drainMs: 1000 })))
    this.running.clear()
  }

  /** Prometheus text of every sidecar's metrics. */
  async metrics (): Promise<string> {
    return await this.metricsRegistry.metrics()
  }

  sidecars (): Array<{ id: string, sidecar: Sidecar }> {
    return [...this.running.entries()].map(([id, { sidecar }]) => ({ id, sidecar }))
  }

  /**
   * A standalone proxy takes over a sidecar for `ttlMs` (renewed while it runs); the agent stops its
   * in-process copy and starts it again when the claim lapses. False for an unknown proxy.
   */
  claim (proxyId: string, ttlMs: number): boolean {
    if (this.components.catalog.localService(proxyId)?.Kind !== 'connect-proxy') return false
    this.claims.set(proxyId, Date.now() + ttlMs)
    this.trigger()
    return true
  }

  release (proxyId: string): void {
    this.claims.delete(proxyId)
    this.trigger()
  }

  private claimed (proxyId: string): boolean {
    const until = this.claims.get(proxyId)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.claims.delete(proxyId)
    return false
  }

  /** Coalesces many triggers into one reconcile run. */
  trigger (): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.reconciling = this.reconciling.then(async () => await this.reconcile()).catch((error: Error) => {
        this.components.log.warn({ err: error.message }, 'sidecar reconcile failed')
      })
    })
  }

  /** The snapshot sidecar `proxyId` runs (or a standalone proxy is sent); undefined until the CA and its leaf are ready. */
  build (proxyId: string): ProxySnapshot | undefined {
    const { catalog, ca, policy } = this.components
    const proxy = catalog.localService(proxyId)
    const trustDomain = ca.trustDomain
    if (proxy?.Proxy === undefined || trustDomain === undefined) return undefined
    let leaf
    try {
      leaf = ca.leaf(proxy.Proxy.DestinationServiceName)
    } catch (error) {
      this.components.log.debug({ proxy: proxyId, err: (error as Error).message }, 'no leaf certificate yet')
      return undefined
    }
    return buildProxySnapshot({
      proxy,
      nodeAddress: this.init.nodeAddress,
      trustDomain,
      datacenter: this.init.datacenter,
      leaf,
      rootsPem: ca.rootsPem(),
      configEntry: (kind, name) => policy.configEntry(kind, name),
      sidecarsOf: (service) => catalog.healthService(service, { connect: true }),
      authorizer: (destination, protocol) => policy.intentions.authorizer(destination, { protocol }),
      compileFilter,
      warn: (message) => this.components.log.warn({ proxy: proxyId }, message),
    })
  }

  private setFault (id: string, reason: string | undefined): void {
    if (reason === undefined && !this.faulted.has(id)) return
    if (reason === undefined) this.faulted.delete(id)
    else this.faulted.add(id)
    this.components.listenerHealth.setListenerFault(id, reason)
  }

  /**
   * A running sidecar's listener failed: report it, stop that sidecar and let the next reconcile
   * start it again. Queued behind any reconcile in progress, which owns `running` meanwhile.
   */
  private listenerDied (id: string, sidecar: Sidecar, error: Error): void {
    this.reconciling = this.reconciling.then(async () => {
      if (this.running.get(id)?.sidecar !== sidecar) return
      this.running.delete(id)
      this.setFault(id, listenerFailure(error) ?? `listener: ${error.message}`)
      await sidecar.stop({ drainMs: 0 })
      this.trigger()
    }).catch((stopError: Error) => {
      this.components.log.warn({ proxy: id, err: stopError.message }, 'stopping a sidecar whose listener failed')
    })
  }

  private async reconcile (): Promise<void> {
    if (this.stopped) return
    const wanted = new Set(this.components.catalog.localServices()
      .filter((service) => service.Kind === 'connect-proxy' && !this.claimed(service.ID))
      .map((service) => service.ID))
    for (const [id, { sidecar }] of this.running) {
      if (wanted.has(id)) continue
      this.running.delete(id)
      await sidecar.stop({ drainMs: 5000 })
      this.components.log.info({ proxy: id }, 'sidecar stopped')
    }
    for (const id of this.faulted) if (!wanted.has(id)) this.setFault(id, undefined)
    for (const id of wanted) {
      const snapshot = this.build(id)
      if (snapshot === undefined) continue
      const key = snapshotKey(snapshot)
      const current = this.running.get(id)
      try {
        if (current === undefined) {
          const { startSidecar } = await import('../../proxy/sidecar.ts')
          const sidecar = await startSidecar({
            snapshot,
            log: this.components.log,
            metricsRegistry: this.metricsRegistry,
            listenerLimits: this.init.listenerLimits,
            onListenerError: (error) => { this.listenerDied(id, sidecar, error) },
          })
          this.running.set(id, { sidecar, key })
          this.components.log.info({ proxy: id, ports: sidecar.ports() }, 'sidecar started')
        } else if (current.key !== key) {
          await current.sidecar.update(snapshot)
          current.key = key
        }
        this.setFault(id, undefined)
      } catch (error) {
        const failure = listenerFailure(error)
        if (failure !== undefined) this.setFault(id, failure)
        this.components.log.warn({ proxy: id, err: (error as Error).message }, 'sidecar could not start or update')
      }
    }
  }
}
