// `mesh deregister ID`: removes a service registered with this agent
// (PUT /v1/agent/service/deregister/:service_id). An ID the agent does not hold is the state asked
// for already ("Already absent", exit 0), unless it is the name of services registered under
// other IDs: then the user most likely meant those, and is told their IDs instead.

import { Command } from 'commander'
import { AgentResponseError } from '../../api/agent-client.ts'
import { NotFoundError } from '../errors.ts'
import { write } from '../output.ts'
import { clientCommand, clientFor, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'

const NOT_FOUND_STATUS = 404

export function deregisterCommand (): Command {
  return clientCommand('deregister')
    .description('Deregister a service from the local agent')
    .argument('<id>', 'service ID (the name, when it was registered without --id)')
    .addHelpText('after', examples('mesh deregister web-1'))
    .action(async (id: string, options: ClientOptions) => {
      const client = clientFor(options)
      try {
        await client.put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`)
      } catch (error) {
        if (!(error instanceof AgentResponseError && error.statusCode === NOT_FOUND_STATUS)) throw error
        const services = await client.get<Record<string, { Service?: string }>>('/v1/agent/services') ?? {}
        const namedIds = Object.keys(services).filter(serviceId => services[serviceId].Service === id).sort()
        if (namedIds.length > 0) {
          throw new NotFoundError(`no service with ID "${id}" on this agent; "${id}" is the name of ${namedIds.join(', ')}: deregister by ID`)
        }
        write(`Already absent: service ${id}`)
        return
      }
      write(`Deregistered service: ${id}`)
    })
}
