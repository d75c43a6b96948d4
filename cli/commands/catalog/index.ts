// `mesh catalog`: the group of read-only catalog queries.

import { Command } from 'commander'
import { catalogNodesCommand } from './nodes.ts'
import { catalogServiceCommand } from './service.ts'
import { catalogServicesCommand } from './services.ts'

export function catalogCommand (): Command {
  return new Command('catalog')
    .description('Query the service catalog')
    .addCommand(catalogServicesCommand())
    .addCommand(catalogNodesCommand())
    .addCommand(catalogServiceCommand())
}
