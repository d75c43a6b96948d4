// The shape shared by `mesh intentions allow` and `mesh intentions deny`: both set one pair's L4
// action whatever the pair held (read, then PUT /v1/connect/intentions/exact only when it
// differs), and say whether the intention was created, changed or already so. Every outcome
// exits 0, so a walk-through or a provisioning script can run the same command again.

import { Command } from 'commander'
import { describeAction, parseIntentionService, setIntention } from '../../intentions.ts'
import type { SetIntentionOutcome } from '../../intentions.ts'
import { write, writeJson } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface SetOptions extends ClientOptions, FormatOptions {
  description?: string
}

const RESULT_LABELS = { created: 'Created', changed: 'Changed', unchanged: 'Unchanged' }

/** "Changed: web => api (deny → allow)"; a change of description alone names the action kept. */
function outcomeLine (source: string, destination: string, action: string, outcome: SetIntentionOutcome): string {
  const previousAction = outcome.previous === null ? action : describeAction(outcome.previous)
  const detail = outcome.result !== 'changed'
    ? action
    : previousAction !== action ? `${previousAction} → ${action}` : `${action}, description changed`
  return `${RESULT_LABELS[outcome.result]}: ${source} => ${destination} (${detail})`
}

export function intentionCreateCommand (action: 'allow' | 'deny', description: string, exampleLines: string[]): Command {
  return withFormat(clientCommand(action))
    .description(description)
    .argument('<source>', 'calling service, or "*" for any', argParser(text => parseIntentionService(text, 'source')))
    .argument('<destination>', 'called service, or "*" for any', argParser(text => parseIntentionService(text, 'destination')))
    .option('--description <text>', 'free text kept with the intention (default: keep the one it has)')
    .option('--replace', `accepted for compatibility and does nothing: ${action} always sets the action, whatever the pair had`)
    .addHelpText('after', examples(...exampleLines))
    .action(async (source: string, destination: string, options: SetOptions) => {
      const outcome = await setIntention(clientFor(options), source, destination, action, options.description)
      if (options.format === 'json') {
        writeJson({ Result: outcome.result, Intention: outcome.intention })
        return
      }
      write(outcomeLine(source, destination, action, outcome))
    })
}
