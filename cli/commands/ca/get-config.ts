// `mesh ca get-config`: the CA provider configuration (GET /v1/connect/ca/configuration), as JSON
// so it can be edited and handed back to `mesh ca set-config`.

import { Command } from 'commander'
import { writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

export function caGetConfigCommand (): Command {
  return clientCommand('get-config')
    .description('Print the CA configuration as JSON')
    .addHelpText('after', examples('mesh ca get-config > ca.json'))
    .action(async (options: ClientOptions) => {
      writeJson(await clientFor(options).get<unknown>('/v1/connect/ca/configuration'))
    })
}
