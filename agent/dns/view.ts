// What the DNS server reads: a narrow view over the local catalog, so the DNS code depends on
// neither LevelDB nor the catalog's internals. The agent builds it from its catalog.

import type { HealthStatus } from '../../api/catalog-types.ts'

export interface DnsServiceInstance {
  node: string
  /** Node address (A/AAAA of `<node>.node.consul`). */
  nodeAddress: string
  /** Service address, or '' to mean the node address. */
  serviceAddress: string
  port: number
  tags: string[]
  /** Worst of the service's checks and the node's checks. */
  status: HealthStatus
  datacenter: string
  nodeMeta: Record<string, string>
  serviceMeta: Record<string, string>
}

export interface DnsNode {
  node: string
  address: string
  datacenter: string
  meta: Record<string, string>
}

export interface DnsCatalogView {
  datacenter: string
  /** Instances of `service` (typical services), any health; the DNS layer filters. */
  serviceInstances(service: string): DnsServiceInstance[]
  /** Sidecar proxies (`connect-proxy` kind) whose destination is `service`. */
  connectInstances(service: string): DnsServiceInstance[]
  node(name: string): DnsNode | undefined
  /**
   * Optional change counter (e.g. the catalog's modify index): any change to what the methods above
   * return must change it. With it, the DNS server caches encoded answers until it changes;
   * without it, every query is looked up afresh. Names given to the methods above are lower case:
   * match them case-insensitively, as Consul does.
   */
  version?(): number
}
