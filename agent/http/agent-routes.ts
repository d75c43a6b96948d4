// Agent-level routes: cluster membership as Consul's /v1/agent/members, /v1/agent/self, and the
// join / leave / force-leave actions. Member statuses map to Consul's serf numbers:
// 1 alive (suspects are still alive), 2 leaving, 3 left, 4 failed.

import type { FastifyInstance } from 'fastify'
import type { MemberInfo } from '../membership/types.ts'
import { badRequest, notFound } from './errors.ts'

export interface AgentRouteDeps {
  members(): MemberInfo[]
  self(): Record<string, unknown>
  datacenter: string
  /** Joins through `address` ("host:port"); resolves with the number of agents contacted. */
  join(address: string): Promise<number>
  /** Graceful leave; the agent shuts down after answering. */
  leave(): Promise<void>
  /** Marks a failed member as left (or forgets it with prune); false when unknown. */
  forceLeave(node: string, prune: boolean): boolean
}

const STATUS_CODES: Record<MemberInfo['status'], number> = { alive: 1, suspect: 1, left: 3, dead: 4 }

export function memberToConsul (member: MemberInfo, datacenter: string): Record<string, unknown> {
  const separator = member.addr.lastIndexOf(':')
  return {
    Name: member.name,
    Addr: member.addr.slice(0, separator).replace(/^\[|\]$/g, ''),
    Port: Number(member.addr.slice(separator + 1)),
    Tags: { dc: datacenter, id: member.id, role: 'node', ...member.meta },
    Status: STATUS_CODES[member.status],
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  }
}

const ADDRESS_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:\d{1,5})?$/

export function registerAgentRoutes (app: FastifyInstance, deps: AgentRouteDeps): void {
  app.get('/v1/agent/members', {
    schema: { querystring: { type: 'object', properties: { wan: { type: 'string' }, segment: { type: 'string' } } } },
  }, async (request) => {
    const query = request.query as { wan?: string }
    if (query.wan !== undefined && query.wan !== 'false') return []
    return deps.members().map((member) => memberToConsul(member, deps.datacenter))
  })

  // mesh-only: the membership view with SWIM detail (incarnation, when the status last changed).
  app.get('/v1/mesh/members', async () => deps.members().map((member) => ({
    Name: member.name,
    ID: member.id,
    Addr: member.addr,
    Status: member.status,
    Incarnation: member.incarnation,
    StatusChangedAt: new Date(member.statusChangedAtMs).toISOString(),
    StatusChangedAtMs: member.statusChangedAtMs,
    Meta: member.meta,
  })))

  app.get('/v1/agent/self', async () => deps.self())

  app.put('/v1/agent/join/:address', {
    schema: { params: { type: 'object', required: ['address'], properties: { address: { type: 'string', maxLength: 300 } } } },
  }, async (request, reply) => {
    const { address } = request.params as { address: string }
    if (!ADDRESS_PATTERN.test(address)) throw badRequest(`invalid address "${address}": expected HOST[:PORT]`)
    await deps.join(/:\d+$/.test(address) ? address : `${address}:8301`)
    reply.type('application/json').send('')
  })

  app.put('/v1/agent/leave', async (_request, reply) => {
    reply.type('application/json').send('')
    setImmediate(() => { void deps.leave() })
  })

  app.put('/v1/agent/force-leave/:node', {
    schema: {
      params: { type: 'object', required: ['node'], properties: { node: { type: 'string', minLength: 1, maxLength: 128 } } },
      querystring: { type: 'object', properties: { prune: { type: 'string' } } },
    },
  }, async (request, reply) => {
    const { node } = request.params as { node: string }
    const { prune } = request.query as { prune?: string }
    if (!deps.forceLeave(node, prune !== undefined && prune !== 'false')) throw notFound(`agent: No node found with name '${node}'`)
    reply.type('application/json').send('')
  })
}
