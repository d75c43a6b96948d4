// `mesh deregister ID`: removes a service registered with this agent
// (PUT /v1/agent/service/deregister/:service_id).

import { Command } from 'commander'
import { write } from '../output.ts'
import { clientCommand, clientFor, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'

export function deregisterCommand (): Command {
  return clientCommand('deregister')
    .description('Deregister a service from the local agent')
    .argument('<id>', 'service ID (the name, when it was registered without --id)')
    .addHelpText('after', examples('mesh deregister web-1'))
    .action(async (id: string, options: ClientOptions) => {
      await clientFor(options).put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`)
      write(`Deregistered service: ${id}`)
    })
}
