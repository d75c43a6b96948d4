// The shape shared by `mesh intentions allow` and `mesh intentions deny`: both write one L4
// intention for a source/destination pair (PUT /v1/connect/intentions/exact).

import { Command } from 'commander'
import { createIntention, parseIntentionService } from '../../intentions.ts'
import { write } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

interface CreateOptions extends ClientOptions {
  description?: string
  replace?: boolean
}

export function intentionCreateCommand (action: 'allow' | 'deny', description: string, exampleLines: string[]): Command {
  return clientCommand(action)
    .description(description)
    .argument('<source>', 'calling service, or "*" for any', argParser(text => parseIntentionService(text, 'source')))
    .argument('<destination>', 'called service, or "*" for any', argParser(text => parseIntentionService(text, 'destination')))
    .option('--description <text>', 'free text kept with the intention')
    .option('--replace', 'overwrite an existing intention for the same pair instead of failing')
    .addHelpText('after', examples(...exampleLines))
    .action(async (source: string, destination: string, options: CreateOptions) => {
      await createIntention(clientFor(options), source, destination, action, options)
      write(`Intention created: ${source} => ${destination} (${action})`)
    })
}
