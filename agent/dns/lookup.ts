// Answers one question from the catalog view, as Consul's DNS interface does: parses the name
// (`[tag.]service.service[.dc].<domain>`, RFC 2782 `_service._tag.service...`, `service.connect...`,
// `node.node...`, `hex.addr...`) and builds the records, each with the additional records that go
// with it. Pure: no sockets, no clock (the SOA serial comes in), so the server can cache the result.

import type { DnsCatalogView, DnsServiceInstance } from './view.ts'
import {
  addrLabel, addressFromAddrLabel, addressRecord, soaRecord, srvRecord, txtRecord
} from './records.ts'
import type { SoaSettings } from './records.ts'
import {
  RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_SOA, TYPE_SRV, TYPE_TXT
} from './wire.ts'

/** One answer record and the additional records it brings (an SRV target's A/AAAA). */
export interface AnswerEntry {
  record: Buffer
  additionals: Buffer[]
}

/** Everything an answer holds except the header and question, before size limits apply. */
export interface PreparedAnswer {
  rcode: number
  answers: AnswerEntry[]
  /** Additional records for the whole answer (node meta TXT), after the answers' own. */
  extra: Buffer[]
  authority: Buffer[]
}

export interface LookupSettings {
  /** Our domains, lower case without dots at the ends: the domain, then the alt domain if any. */
  domains: string[]
  nodeTtlS: number
  serviceTtlS: (service: string) => number
  onlyPassing: boolean
  soa: SoaSettings
}

/**
 * Consul's `service_ttl`: an exact service name wins, then the longest `prefix*` pattern, then `*`,
 * then the default.
 */
export function serviceTtlFor (service: string, overrides: Record<string, number>, defaultTtlS: number): number {
  const exact = overrides[service]
  if (exact !== undefined) return exact
  let best: number | undefined
  let bestPrefixLength = -1
  for (const [pattern, ttlS] of Object.entries(overrides)) {
    if (!pattern.endsWith('*')) continue
    const prefix = pattern.slice(0, -1)
    if (prefix.length > bestPrefixLength && service.startsWith(prefix)) {
      best = ttlS
      bestPrefixLength = prefix.length
    }
  }
  return best ?? defaultTtlS
}

const QUERY_KINDS = new Set(['service', 'connect', 'node', 'addr'])

function isUsable (instance: DnsServiceInstance, onlyPassing: boolean): boolean {
  if (instance.status === 'critical' || instance.status === 'maintenance') return false
  return !onlyPassing || instance.status === 'passing'
}

class Lookup {
  readonly view: DnsCatalogView
  readonly settings: LookupSettings
  readonly askedName: string
  readonly qtype: number
  readonly domain: string
  readonly datacenter: string
  readonly answer: PreparedAnswer = { rcode: RCODE_NOERROR, answers: [], extra: [], authority: [] }

  constructor (view: DnsCatalogView, settings: LookupSettings, askedName: string, qtype: number, domain: string) {
    this.view = view
    this.settings = settings
    this.askedName = askedName
    this.qtype = qtype
    this.domain = domain
    this.datacenter = view.datacenter.toLowerCase()
  }

  get wantV4 (): boolean { return this.qtype === TYPE_A || this.qtype === TYPE_ANY }
  get wantV6 (): boolean { return this.qtype === TYPE_AAAA || this.qtype === TYPE_ANY }
  get wantAddress (): boolean { return this.wantV4 || this.wantV6 }

  run (labels: string[]): PreparedAnswer {
    if (labels.length === 0) return this.apex()
    const last = labels[labels.length - 1]!
    let kind: string
    let rest: string[]
    if (QUERY_KINDS.has(last)) {
      kind = last
      rest = labels.slice(0, -1)
    } else if (labels.length >= 2 && QUERY_KINDS.has(labels[labels.length - 2]!)) {
      if (last !== this.datacenter) return this.notFound()
      kind = labels[labels.length - 2]!
      rest = labels.slice(0, -2)
    } else {
      return this.notFound()
    }
    if (kind === 'node') return rest.length === 1 ? this.node(rest[0]!) : this.notFound()
    if (kind === 'addr') return rest.length === 1 ? this.addr(rest[0]!) : this.notFound()
    if (kind === 'connect') return rest.length === 1 ? this.service(rest[0]!, undefined, true) : this.notFound()
    if (rest.length === 1) return this.service(rest[0]!, undefined, false)
    if (rest.length === 2) {
      const [first, second] = rest as [string, string]
      if (first.startsWith('_') && second.startsWith('_')) {
        // RFC 2782: _service._protocol; `_tcp` stands for "any tag", anything else is a tag.
        const tag = second === '_tcp' ? undefined : second.slice(1)
        return this.service(first.slice(1), tag, false)
      }
      return this.service(second, first, false)
    }
    return this.notFound()
  }

  apex (): PreparedAnswer {
    if (this.qtype === TYPE_SOA || this.qtype === TYPE_ANY) {
      this.answer.answers.push({ record: soaRecord(this.askedName, this.settings.soa), additionals: [] })
      return this.answer
    }
    return this.empty()
  }

  service (service: string, tag: string | undefined, connect: boolean): PreparedAnswer {
    const all = connect ? this.view.connectInstances(service) : this.view.serviceInstances(service)
    const instances = all.filter((instance) => isUsable(instance, this.settings.onlyPassing) &&
      (tag === undefined || instance.tags.some((candidate) => candidate.toLowerCase() === tag)))
    if (instances.length === 0) return this.notFound()
    const ttlS = this.settings.serviceTtlS(service)
    if (this.qtype === TYPE_SRV) {
      // Instances on one node share their target's address record, so it is built once.
      const targets = new Map<string, Buffer[]>()
      for (const instance of instances) {
        const { target, additionals } = this.srvTarget(instance, ttlS, targets)
        this.answer.answers.push({ record: srvRecord(this.askedName, ttlS, instance.port, target), additionals })
      }
    } else if (this.wantAddress) {
      const seen = new Set<string>()
      for (const instance of instances) {
        const address = instance.serviceAddress || instance.nodeAddress
        if (seen.has(address)) continue
        seen.add(address)
        const record = addressRecord(this.askedName, ttlS, address, this.wantV4, this.wantV6, true)
        if (record !== undefined) this.answer.answers.push({ record, additionals: [] })
      }
    }
    return this.answer.answers.length > 0 ? this.answer : this.empty()
  }

  /** Consul's SRV target: the node's name, an `addr` name for a distinct service IP, or the host name. */
  srvTarget (instance: DnsServiceInstance, ttlS: number, targets: Map<string, Buffer[]>): { target: string, additionals: Buffer[] } {
    const serviceAddress = instance.serviceAddress
    let target: string
    let address: string
    if (serviceAddress === '' || serviceAddress === instance.nodeAddress) {
      target = `${instance.node}.node.${instance.datacenter}.${this.domain}`
      address = instance.nodeAddress
    } else {
      const label = addrLabel(serviceAddress)
      if (label === undefined) return { target: serviceAddress, additionals: [] }
      target = `${label}.addr.${instance.datacenter}.${this.domain}`
      address = serviceAddress
    }
    let additionals = targets.get(target)
    if (additionals === undefined) {
      const record = addressRecord(target, ttlS, address, true, true, false)
      additionals = record === undefined ? [] : [record]
      targets.set(target, additionals)
    }
    return { target, additionals }
  }

  node (name: string): PreparedAnswer {
    const node = this.view.node(name)
    if (node === undefined || node.datacenter.toLowerCase() !== this.datacenter) return this.notFound()
    const ttlS = this.settings.nodeTtlS
    const record = addressRecord(this.askedName, ttlS, node.address, this.wantV4, this.wantV6, this.wantAddress)
    if (record !== undefined) this.answer.answers.push({ record, additionals: [] })
    // Consul: meta TXT records answer TXT and ANY questions, and ride along with A/AAAA answers.
    const metaRecords = Object.entries(node.meta).map(([key, value]) =>
      txtRecord(this.askedName, ttlS, key.startsWith('rfc1035-') ? value : `${key}=${value}`))
    if (this.qtype === TYPE_TXT || this.qtype === TYPE_ANY) {
      for (const meta of metaRecords) this.answer.answers.push({ record: meta, additionals: [] })
    } else if (record !== undefined) {
      this.answer.extra.push(...metaRecords)
    }
    return this.answer.answers.length > 0 ? this.answer : this.empty()
  }

  addr (label: string): PreparedAnswer {
    const address = addressFromAddrLabel(label)
    if (address === undefined) return this.notFound()
    const record = addressRecord(this.askedName, this.settings.nodeTtlS, address, this.wantV4, this.wantV6, false)
    if (record === undefined) return this.empty()
    this.answer.answers.push({ record, additionals: [] })
    return this.answer
  }

  /** The name exists but has no records of the asked type: NOERROR, no answers, the SOA. */
  empty (): PreparedAnswer {
    this.answer.answers = []
    this.answer.extra = []
    this.answer.authority = [soaRecord(this.domainAsAsked(), this.settings.soa)]
    return this.answer
  }

  notFound (): PreparedAnswer {
    this.empty()
    this.answer.rcode = RCODE_NXDOMAIN
    return this.answer
  }

  /** The domain suffix of the question with the client's letter case. */
  domainAsAsked (): string {
    return this.askedName.slice(this.askedName.length - this.domain.length)
  }
}

/** The answer to `askedName`/`qtype`, or undefined when the name is outside our domains. */
export function lookup (view: DnsCatalogView, settings: LookupSettings, askedName: string, qtype: number): PreparedAnswer | undefined {
  const name = askedName.toLowerCase()
  for (const domain of settings.domains) {
    if (name !== domain && !name.endsWith(`.${domain}`)) continue
    const labels = name === domain ? [] : name.slice(0, name.length - domain.length - 1).split('.')
    return new Lookup(view, settings, askedName, qtype, domain).run(labels)
  }
  return undefined
}
