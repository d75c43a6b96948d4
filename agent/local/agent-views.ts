// The shapes the agent API answers with for local services and checks (Consul's AgentService and
// AgentCheck): the stored records plus the agent's node and datacenter, a content hash so clients
// can tell whether a service changed, and the internal check definition left out.

import { createHash } from 'node:crypto'
import type { CheckRecord, ServiceRecord } from '../../api/catalog-types.ts'
import type { LocalCheck } from './local-catalog.ts'

export interface AgentServiceView extends ServiceRecord {
  Datacenter: string
  ContentHash: string
}

export interface AgentCheckView extends Omit<CheckRecord, 'Interval' | 'Timeout'> {
  Node: string
  Interval: string
  Timeout: string
}

export function serviceView (service: ServiceRecord, datacenter: string): AgentServiceView {
  const view: AgentServiceView = {
    ID: service.ID,
    Service: service.Service,
    Tags: service.Tags,
    Meta: service.Meta,
    Port: service.Port,
    Address: service.Address,
    Weights: service.Weights,
    EnableTagOverride: service.EnableTagOverride,
    Datacenter: datacenter,
    ContentHash: createHash('sha256').update(JSON.stringify(service)).digest('hex').slice(0, 16),
  }
  if (service.Kind !== undefined && service.Kind !== '') view.Kind = service.Kind
  if (service.TaggedAddresses !== undefined) view.TaggedAddresses = service.TaggedAddresses
  if (service.Proxy !== undefined) view.Proxy = service.Proxy
  if (service.Connect !== undefined) view.Connect = service.Connect
  return view
}

export function checkView (check: LocalCheck, nodeName: string): AgentCheckView {
  return {
    Node: nodeName,
    CheckID: check.CheckID,
    Name: check.Name,
    Status: check.Status,
    Notes: check.Notes,
    Output: check.Output,
    ServiceID: check.ServiceID,
    ServiceName: check.ServiceName,
    ServiceTags: check.ServiceTags,
    Type: check.Type,
    Interval: check.Interval ?? '',
    Timeout: check.Timeout ?? '',
  }
}
