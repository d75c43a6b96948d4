// `mesh catalog nodes`: every node in the catalog (GET /v1/catalog/nodes).

import { Command } from 'commander'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface CatalogNode {
  ID?: string
  Node: string
  Address: string
  Datacenter?: string
}

/** Consul's CLI shows node IDs shortened to their first UUID group. */
const SHORT_ID_LENGTH = 8

export function catalogNodesCommand (): Command {
  return withFormat(clientCommand('nodes'))
    .description('List the nodes in the catalog')
    .addHelpText('after', examples('mesh catalog nodes', 'mesh catalog nodes --format json'))
    .action(async (options: ClientOptions & FormatOptions) => {
      const nodes = (await clientFor(options).get<CatalogNode[]>('/v1/catalog/nodes') ?? [])
        .sort((a, b) => a.Node.localeCompare(b.Node))
      if (options.format === 'json') {
        writeJson(nodes)
        return
      }
      write(renderTable(['Node', 'ID', 'Address', 'DC'], nodes.map(node =>
        [node.Node, (node.ID ?? '').slice(0, SHORT_ID_LENGTH), node.Address, node.Datacenter ?? ''])))
    })
}
