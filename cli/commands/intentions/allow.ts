// `mesh intentions allow SRC DST`: lets SRC open connections to DST, whatever the pair had before.

import type { Command } from 'commander'
import { intentionCreateCommand } from './create.ts'

export function intentionsAllowCommand (): Command {
  return intentionCreateCommand('allow', 'Allow a service to call another (creates or changes the pair\'s intention)', [
    'mesh intentions allow web api',
    'mesh intentions allow "*" metrics --description "scrapers everywhere"',
    'mesh intentions allow web db --format json',
  ])
}
