// Record shapes of the replicated catalog and the results its queries return. Field names follow
// Consul's HTTP API (PascalCase) so the HTTP layer can return them as they are; everything here is
// plain JSON-serialisable data, shared by the catalog, the agent and the HTTP clients.

export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance'

/** Consul's service "Kind": '' for a typical service, 'connect-proxy' for a sidecar. */
export type ServiceKind = '' | 'connect-proxy'

export interface Upstream {
  DestinationName: string
  DestinationType?: 'service'
  LocalBindAddress?: string
  LocalBindPort: number
  Datacenter?: string
  Config?: Record<string, unknown>
}

export interface ProxyConfig {
  DestinationServiceName: string
  DestinationServiceID?: string
  LocalServiceAddress?: string
  LocalServicePort?: number
  Mode?: string
  Config?: Record<string, unknown>
  Upstreams?: Upstream[]
}

export interface ServiceRecord {
  ID: string
  Service: string
  Kind?: ServiceKind
  Tags: string[]
  Address: string
  Port: number
  Meta: Record<string, string>
  Weights: { Passing: number, Warning: number }
  EnableTagOverride: boolean
  TaggedAddresses?: Record<string, { Address: string, Port: number }>
  /** Only on connect-proxy services. */
  Proxy?: ProxyConfig
  /** Connect settings of a typical service (Native, SidecarService as registered). */
  Connect?: { Native?: boolean, SidecarService?: unknown }
}

export interface CheckRecord {
  CheckID: string
  Name: string
  Status: HealthStatus
  Notes: string
  Output: string
  ServiceID: string
  ServiceName: string
  ServiceTags: string[]
  /** 'http' | 'tcp' | 'ttl' | 'grpc' | 'script' | 'serf' | 'alias' | '' */
  Type: string
  Interval?: string
  Timeout?: string
}

export interface NodeRecord {
  /** Node name, unique in the cluster. */
  Node: string
  /** Node UUID, persistent in the data dir. */
  ID: string
  Address: string
  Datacenter: string
  TaggedAddresses: Record<string, string>
  Meta: Record<string, string>
}

// Query results: the records as the HTTP API returns them, with Consul's indexes.

export interface Indexed { CreateIndex: number, ModifyIndex: number }
export type NodeResult = NodeRecord & Indexed
export type ServiceResult = ServiceRecord & Indexed
export type HealthCheckResult = CheckRecord & { Node: string } & Indexed

/** One element of /v1/catalog/service/:service. */
export interface ServiceNodeResult extends Indexed {
  ID: string
  Node: string
  Address: string
  Datacenter: string
  TaggedAddresses: Record<string, string>
  NodeMeta: Record<string, string>
  ServiceKind: string
  ServiceID: string
  ServiceName: string
  ServiceTags: string[]
  ServiceAddress: string
  ServiceTaggedAddresses: Record<string, { Address: string, Port: number }>
  ServiceWeights: { Passing: number, Warning: number }
  ServiceMeta: Record<string, string>
  ServicePort: number
  ServiceEnableTagOverride: boolean
  ServiceProxy: ServiceRecord['Proxy'] | Record<string, never>
  ServiceConnect: NonNullable<ServiceRecord['Connect']>
}

/** One element of /v1/health/service/:service. */
export interface HealthServiceResult { Node: NodeResult, Service: ServiceResult, Checks: HealthCheckResult[] }

/** /v1/catalog/node/:node. */
export interface NodeServicesResult { Node: NodeResult, Services: Record<string, ServiceResult> }
