// Builds the DNS server's narrow view (agent/dns/view.ts) over the local catalog. DNS names are
// case-insensitive while service names in the catalog keep their case, so a lower-case name map
// is rebuilt whenever the catalog's modify index moves.

import type { Catalog } from '../../catalog/catalog.ts'
import type { HealthServiceResult } from '../../api/catalog-types.ts'
import type { HealthStatus } from '../../api/catalog-types.ts'
import type { DnsCatalogView, DnsNode, DnsServiceInstance } from './view.ts'

const SEVERITY: Record<HealthStatus, number> = { passing: 0, warning: 1, maintenance: 2, critical: 3 }

function worstStatus (result: HealthServiceResult): HealthStatus {
  let worst: HealthStatus = 'passing'
  for (const check of result.Checks) {
    const status = check.Status === 'maintenance' ? 'critical' : check.Status
    if (SEVERITY[status] > SEVERITY[worst]) worst = status
  }
  return worst
}

function toInstance (result: HealthServiceResult): DnsServiceInstance {
  return {
    node: result.Node.Node,
    nodeAddress: result.Node.Address,
    serviceAddress: result.Service.Address,
    port: result.Service.Port,
    tags: result.Service.Tags,
    status: worstStatus(result),
    datacenter: result.Node.Datacenter,
    nodeMeta: result.Node.Meta,
    serviceMeta: result.Service.Meta,
  }
}

export function dnsCatalogView (catalog: Catalog): DnsCatalogView {
  let namesAtIndex = -1
  let serviceNames = new Map<string, string>()
  let nodeNames = new Map<string, string>()
  const refresh = (): void => {
    if (namesAtIndex === catalog.index) return
    namesAtIndex = catalog.index
    serviceNames = new Map(Object.keys(catalog.services()).map((name) => [name.toLowerCase(), name]))
    nodeNames = new Map(catalog.nodes().map((node) => [node.Node.toLowerCase(), node.Node]))
  }
  const serviceName = (name: string): string | undefined => {
    refresh()
    return serviceNames.get(name.toLowerCase())
  }
  return {
    datacenter: catalog.self.Datacenter,
    version: () => catalog.index,
    serviceInstances (service) {
      const name = serviceName(service)
      return name === undefined ? [] : catalog.healthService(name).filter((result) => (result.Service.Kind ?? '') === '').map(toInstance)
    },
    connectInstances (service) {
      const name = serviceName(service)
      return name === undefined ? [] : catalog.healthService(name, { connect: true }).map(toInstance)
    },
    node (name): DnsNode | undefined {
      refresh()
      const actual = nodeNames.get(name.toLowerCase())
      const found = actual === undefined ? undefined : catalog.node(actual)
      if (found === undefined) return undefined
      return { node: found.Node.Node, address: found.Node.Address, datacenter: found.Node.Datacenter, meta: found.Node.Meta }
    },
  }
}
