// `mesh catalog service NAME`: every instance of one service, healthy or not
// (GET /v1/catalog/service/:name); `mesh health` is the view filtered by health.

import { Command } from 'commander'
import { formatTags, joinHostPort } from '../../format.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface CatalogServiceEntry {
  Node: string
  Address: string
  ServiceID: string
  ServiceAddress?: string
  ServicePort?: number
  ServiceTags?: string[] | null
}

interface CatalogServiceOptions extends ClientOptions, FormatOptions {
  tag?: string
}

export function catalogServiceCommand (): Command {
  return withFormat(clientCommand('service'))
    .description('List the instances of a service')
    .argument('<name>', 'service name')
    .option('--tag <tag>', 'only instances with this tag')
    .addHelpText('after', examples('mesh catalog service web', 'mesh catalog service web --tag v2 --format json'))
    .action(async (name: string, options: CatalogServiceOptions) => {
      const entries = await clientFor(options).get<CatalogServiceEntry[]>(
        `/v1/catalog/service/${encodeURIComponent(name)}`, { tag: options.tag }) ?? []
      if (options.format === 'json') {
        writeJson(entries)
        return
      }
      write(renderTable(['Node', 'ServiceID', 'Address:Port', 'Tags'], entries.map(entry => [
        entry.Node,
        entry.ServiceID,
        joinHostPort(entry.ServiceAddress !== undefined && entry.ServiceAddress !== '' ? entry.ServiceAddress : entry.Address, entry.ServicePort),
        formatTags(entry.ServiceTags),
      ])))
    })
}
