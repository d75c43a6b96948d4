// `mesh intentions`: the group of commands that say which service may call which.

import { Command } from 'commander'
import { intentionsAllowCommand } from './allow.ts'
import { intentionsApplyCommand } from './apply.ts'
import { intentionsCheckCommand } from './check.ts'
import { intentionsDeleteCommand } from './delete.ts'
import { intentionsDenyCommand } from './deny.ts'
import { intentionsGetCommand } from './get.ts'
import { intentionsListCommand } from './list.ts'

export function intentionsCommand (): Command {
  return new Command('intentions')
    .alias('intention')
    .description('Manage intentions: which service may call which')
    .addCommand(intentionsAllowCommand())
    .addCommand(intentionsDenyCommand())
    .addCommand(intentionsListCommand())
    .addCommand(intentionsGetCommand())
    .addCommand(intentionsCheckCommand())
    .addCommand(intentionsDeleteCommand())
    .addCommand(intentionsApplyCommand())
}
