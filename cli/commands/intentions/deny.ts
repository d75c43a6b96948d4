// `mesh intentions deny SRC DST`: refuses SRC's connections to DST, whatever the pair had before
// (a default-allow mesh's exceptions, or a default-deny mesh's explicit record).

import type { Command } from 'commander'
import { intentionCreateCommand } from './create.ts'

export function intentionsDenyCommand (): Command {
  return intentionCreateCommand('deny', 'Deny a service calling another (creates or changes the pair\'s intention)', [
    'mesh intentions deny web db',
    'mesh intentions deny "*" db --description "only the api talks to the database"',
  ])
}
