// `mesh intentions check SRC DST`: would the mesh let SRC connect to DST right now, counting
// wildcards, precedence and the default policy (GET /v1/connect/intentions/check)? Prints Allowed
// (exit 0) or Denied (exit 1), so scripts can use it as a condition.

import { Command } from 'commander'
import { BadResponseError } from '../../../api/agent-client.ts'
import { exactQuery, parseIntentionService } from '../../intentions.ts'
import { write } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

export const DENIED_EXIT_CODE = 1

export function intentionsCheckCommand (): Command {
  return clientCommand('check')
    .description('Check whether a connection from one service to another is allowed')
    .argument('<source>', 'calling service', argParser(text => parseIntentionService(text, 'source')))
    .argument('<destination>', 'called service', argParser(text => parseIntentionService(text, 'destination')))
    .addHelpText('after', examples('mesh intentions check web api', 'mesh intentions check web db || echo "web cannot reach db"'))
    .action(async (source: string, destination: string, options: ClientOptions) => {
      const path = '/v1/connect/intentions/check'
      const answer = await clientFor(options).get<{ Allowed?: unknown }>(path, exactQuery(source, destination))
      if (typeof answer?.Allowed !== 'boolean') throw new BadResponseError('GET', path, 'no boolean "Allowed" field')
      write(answer.Allowed ? 'Allowed' : 'Denied')
      if (!answer.Allowed) process.exitCode = DENIED_EXIT_CODE
    })
}
