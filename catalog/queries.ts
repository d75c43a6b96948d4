// Read-side of the catalog: Consul's response shapes (api/catalog-types.ts: PascalCase with
// CreateIndex/ModifyIndex) built from the in-memory indexes. Every query starts from an index
// (service name, sidecar destination, check status, node) so its cost follows the size of the
// answer, not the catalog.
// Nodes that left are invisible; every visible node carries the synthesized `serfHealth` check.
// Result objects are built once per stored record and shared between answers (records are
// replaced, never mutated, on change), so a query allocates little more than its arrays: callers
// must treat results as read-only.

import type { CatalogState, NodeState, ServiceRef, Stored } from './state.ts'
import type { CheckEntry, ServiceEntry } from './entry.ts'
import type { HealthCheckResult, HealthServiceResult, HealthStatus, NodeResult, NodeServicesResult, ServiceNodeResult, ServiceRecord, ServiceResult } from '../api/catalog-types.ts'

export const SERF_CHECK_ID = 'serfHealth'

const built = new WeakMap<Stored, NodeResult | ServiceResult | HealthCheckResult>()

function cached<T extends NodeResult | ServiceResult | HealthCheckResult> (stored: Stored, build: () => T): T {
  let result = built.get(stored) as T | undefined
  if (result === undefined) built.set(stored, result = build())
  return result
}

export function nodeResult (node: NodeState): NodeResult {
  const stored = node.record!
  return cached(stored, () => ({ ...stored.entry.value!, CreateIndex: stored.createIndex, ModifyIndex: stored.modifyIndex }))
}

export function serviceResult (stored: Stored<ServiceEntry>): ServiceResult {
  return cached(stored, () => ({ ...stored.entry.value!, CreateIndex: stored.createIndex, ModifyIndex: stored.modifyIndex }))
}

export function checkResult (node: string, stored: Stored<CheckEntry>): HealthCheckResult {
  return cached(stored, () => ({ Node: node, ...stored.entry.value!, CreateIndex: stored.createIndex, ModifyIndex: stored.modifyIndex }))
}

const serfChecks = new WeakMap<NodeState, HealthCheckResult>()

/** The node check each agent computes from its own membership view (never replicated). */
export function serfCheck (node: NodeState): HealthCheckResult {
  const alive = node.liveness === 'alive'
  const previous = serfChecks.get(node)
  if (previous !== undefined && previous.ModifyIndex === node.serfModifyIndex && (previous.Status === 'passing') === alive) return previous
  const result: HealthCheckResult = {
    Node: node.name,
    CheckID: SERF_CHECK_ID,
    Name: 'Serf Health Status',
    Status: alive ? 'passing' : 'critical',
    Notes: '',
    Output: alive ? 'Agent alive and reachable' : 'Agent not live or unreachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: 'serf',
    CreateIndex: node.serfCreateIndex,
    ModifyIndex: node.serfModifyIndex,
  }
  serfChecks.set(node, result)
  return result
}

const byNodeThenId = (a: ServiceRef, b: ServiceRef): number =>
  a.node < b.node ? -1 : a.node > b.node ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0

function hasTags (service: ServiceRecord, tags: string[] | undefined): boolean {
  if (tags === undefined) return true
  for (const tag of tags) if (!service.Tags.includes(tag)) return false
  return true
}

export class CatalogQueries {
  private readonly state: CatalogState
  /** Instance lists in answer order, rebuilt only after the state changed. */
  private readonly sorted = new WeakMap<Map<string, ServiceRef>, { generation: number, refs: ServiceRef[] }>()
  private servicesAnswer: { generation: number, result: Record<string, string[]> } | undefined
  /** Health rows per instance; everything in a row belongs to one node, so its change stamp validates it. */
  private readonly rows = new WeakMap<Stored<ServiceEntry>, { changedAt: number, row: HealthServiceResult, passing: boolean }>()
  constructor (state: CatalogState) {
    this.state = state
  }

  nodes (): NodeResult[] {
    const result: NodeResult[] = []
    for (const node of this.state.nodes.values()) if (node.visible) result.push(nodeResult(node))
    return result.sort((a, b) => a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0)
  }

  node (name: string): NodeServicesResult | undefined {
    const node = this.visibleNode(name)
    if (node === undefined) return undefined
    const services: Record<string, ServiceResult> = Object.create(null)
    for (const [id, stored] of node.services) if (!stored.entry.deleted) services[id] = serviceResult(stored)
    return { Node: nodeResult(node), Services: services }
  }

  services (): Record<string, string[]> {
    if (this.servicesAnswer?.generation === this.state.generation) return this.servicesAnswer.result
    // Null prototypes here and in node(): names come from the network ("__proto__" included).
    const result: Record<string, string[]> = Object.create(null)
    for (const name of [...this.state.servicesByName.keys()].sort()) {
      const tags = new Set<string>()
      let visible = false
      for (const { service } of this.instances(this.state.servicesByName.get(name))) {
        visible = true
        for (const tag of service.entry.value!.Tags) tags.add(tag)
      }
      if (visible) result[name] = [...tags].sort()
    }
    this.servicesAnswer = { generation: this.state.generation, result }
    return result
  }

  serviceNodes (service: string, options: { tag?: string[], connect?: boolean } = {}): ServiceNodeResult[] {
    const refs = options.connect === true ? this.state.proxiesByDestination.get(service) : this.state.servicesByName.get(service)
    const result: ServiceNodeResult[] = []
    for (const { node, service: stored } of this.instances(refs)) {
      const record = node.record!.entry.value!
      const value = stored.entry.value!
      if (!hasTags(value, options.tag)) continue
      result.push({
        ID: record.ID,
        Node: record.Node,
        Address: record.Address,
        Datacenter: record.Datacenter,
        TaggedAddresses: record.TaggedAddresses,
        NodeMeta: record.Meta,
        ServiceKind: value.Kind ?? '',
        ServiceID: value.ID,
        ServiceName: value.Service,
        ServiceTags: value.Tags,
        ServiceAddress: value.Address,
        ServiceTaggedAddresses: value.TaggedAddresses ?? {},
        ServiceWeights: value.Weights,
        ServiceMeta: value.Meta,
        ServicePort: value.Port,
        ServiceEnableTagOverride: value.EnableTagOverride,
        ServiceProxy: value.Proxy ?? {},
        ServiceConnect: value.Connect ?? {},
        CreateIndex: stored.createIndex,
        ModifyIndex: stored.modifyIndex,
      })
    }
    return result
  }

  healthService (service: string, options: { passing?: boolean, tag?: string[], connect?: boolean } = {}): HealthServiceResult[] {
    const refs = options.connect === true ? this.state.proxiesByDestination.get(service) : this.state.servicesByName.get(service)
    const result: HealthServiceResult[] = []
    for (const { node, service: stored } of this.instances(refs)) {
      if (!hasTags(stored.entry.value!, options.tag)) continue
      let cached = this.rows.get(stored)
      if (cached?.changedAt !== node.changedAt) {
        const checks = this.instanceChecks(node, stored.entry.key)
        cached = { changedAt: node.changedAt, row: { Node: nodeResult(node), Service: serviceResult(stored), Checks: checks }, passing: checks.every(check => check.Status === 'passing') }
        this.rows.set(stored, cached)
      }
      if (options.passing === true && !cached.passing) continue
      result.push(cached.row)
    }
    return result
  }

  /** Service-level checks of every instance of `service` (/v1/health/checks/:service). */
  checksForService (service: string): HealthCheckResult[] {
    const result: HealthCheckResult[] = []
    for (const { node, service: stored } of this.instances(this.state.servicesByName.get(service))) {
      for (const checkId of node.checksByService.get(stored.entry.key) ?? []) result.push(checkResult(node.name, node.checks.get(checkId)!))
    }
    return result
  }

  checksForNode (name: string): HealthCheckResult[] {
    const node = this.visibleNode(name)
    if (node === undefined) return []
    const result = [serfCheck(node)]
    for (const stored of node.checks.values()) if (!stored.entry.deleted) result.push(checkResult(node.name, stored))
    return result.sort((a, b) => a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0)
  }

  checksInState (state: HealthStatus | 'any'): HealthCheckResult[] {
    const result: HealthCheckResult[] = []
    for (const node of this.state.nodes.values()) {
      if (!node.visible) continue
      const serf = serfCheck(node)
      if (state === 'any' || serf.Status === state) result.push(serf)
    }
    const statuses: HealthStatus[] = state === 'any' ? ['passing', 'warning', 'critical', 'maintenance'] : [state]
    for (const status of statuses) {
      for (const ref of this.state.checksByStatus.get(status)?.values() ?? []) {
        const node = this.state.nodes.get(ref.node)
        if (node === undefined || !node.visible) continue
        result.push(checkResult(ref.node, node.checks.get(ref.id)!))
      }
    }
    return result.sort((a, b) => a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0)
  }

  private visibleNode (name: string): NodeState | undefined {
    const node = this.state.nodes.get(name)
    return node?.visible === true ? node : undefined
  }

  /** Node checks (serfHealth first) then the service's own checks. */
  private instanceChecks (node: NodeState, serviceId: string): HealthCheckResult[] {
    const checks = [serfCheck(node)]
    for (const checkId of node.checksByService.get('') ?? []) checks.push(checkResult(node.name, node.checks.get(checkId)!))
    for (const checkId of node.checksByService.get(serviceId) ?? []) checks.push(checkResult(node.name, node.checks.get(checkId)!))
    return checks
  }

  /** Live instances behind `refs` on visible nodes, ordered by node name then service ID. */
  private * instances (refs: Map<string, ServiceRef> | undefined): Iterable<{ node: NodeState, service: Stored<ServiceEntry> }> {
    if (refs === undefined) return
    let order = this.sorted.get(refs)
    if (order?.generation !== this.state.generation) this.sorted.set(refs, order = { generation: this.state.generation, refs: [...refs.values()].sort(byNodeThenId) })
    for (const ref of order.refs) {
      const node = this.state.nodes.get(ref.node)
      if (node === undefined || !node.visible) continue
      const service = node.services.get(ref.id)
      if (service !== undefined && !service.entry.deleted) yield { node, service }
    }
  }
}
