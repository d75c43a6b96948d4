// `mesh intentions list`: every intention, in the agent's precedence order (GET /v1/connect/intentions).

import { Command } from 'commander'
import { describeAction } from '../../intentions.ts'
import type { Intention } from '../../intentions.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

export function intentionsListCommand (): Command {
  return withFormat(clientCommand('list'))
    .description('List all intentions')
    .addHelpText('after', examples('mesh intentions list', 'mesh intentions list --format json'))
    .action(async (options: ClientOptions & FormatOptions) => {
      const intentions = await clientFor(options).get<Intention[]>('/v1/connect/intentions') ?? []
      if (options.format === 'json') {
        writeJson(intentions)
        return
      }
      write(renderTable(['Source', 'Action', 'Destination', 'Precedence', 'Description'], intentions.map(intention => [
        intention.SourceName,
        describeAction(intention),
        intention.DestinationName,
        intention.Precedence === undefined ? '' : String(intention.Precedence),
        intention.Description ?? '',
      ])))
    })
}
