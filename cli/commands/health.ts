// `mesh health NAME`: the instances of a service with their aggregated health
// (GET /v1/health/service/:name), node checks included as Consul does: a failed node makes its
// services critical.

import { Command } from 'commander'
import { formatTags, joinHostPort } from '../format.ts'
import { renderTable, write, writeJson } from '../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../options.ts'
import type { ClientOptions, FormatOptions } from '../options.ts'

interface HealthCheck {
  CheckID: string
  Status: string
}

export interface ServiceEntry {
  Node: { Node: string, Address: string }
  Service: { ID: string, Service: string, Address?: string, Port?: number, Tags?: string[] | null }
  Checks?: HealthCheck[] | null
}

/** Consul's maintenance-mode check IDs: maintenance outranks every other status. */
const NODE_MAINTENANCE_CHECK = '_node_maintenance'
const SERVICE_MAINTENANCE_PREFIX = '_service_maintenance:'
const STATUS_RANK = ['passing', 'warning', 'critical', 'maintenance']

/** The worst status among the checks, as Consul's HealthChecks.AggregatedStatus; no checks is passing. */
export function aggregatedStatus (checks: HealthCheck[]): string {
  let worst = 0
  for (const check of checks) {
    const maintenance = check.CheckID === NODE_MAINTENANCE_CHECK || check.CheckID.startsWith(SERVICE_MAINTENANCE_PREFIX)
    const rank = maintenance ? 3 : Math.max(0, STATUS_RANK.indexOf(check.Status))
    worst = Math.max(worst, rank)
  }
  return STATUS_RANK[worst]
}

interface HealthOptions extends ClientOptions, FormatOptions {
  passing?: boolean
  tag?: string
}

export function healthCommand (): Command {
  return withFormat(clientCommand('health'))
    .description('Show the health of every instance of a service')
    .argument('<name>', 'service name')
    .option('--passing', 'only instances whose checks all pass')
    .option('--tag <tag>', 'only instances with this tag')
    .addHelpText('after', examples('mesh health web', 'mesh health web --passing --format json'))
    .action(async (name: string, options: HealthOptions) => {
      const entries = await clientFor(options).get<ServiceEntry[]>(
        `/v1/health/service/${encodeURIComponent(name)}`, { passing: options.passing, tag: options.tag }) ?? []
      if (options.format === 'json') {
        writeJson(entries)
        return
      }
      write(renderTable(['Node', 'ServiceID', 'Address:Port', 'Status', 'Tags'], entries.map(entry => [
        entry.Node.Node,
        entry.Service.ID,
        joinHostPort(entry.Service.Address !== undefined && entry.Service.Address !== '' ? entry.Service.Address : entry.Node.Address, entry.Service.Port),
        aggregatedStatus(entry.Checks ?? []),
        formatTags(entry.Service.Tags),
      ])))
    })
}
