// `mesh config`: the group of commands for configuration entries (routing, splitting,
// defaults, ...), including `apply`, which syncs a directory kept in git.

import { Command } from 'commander'
import { configApplyCommand } from './apply.ts'
import { configDeleteCommand } from './delete.ts'
import { configListCommand } from './list.ts'
import { configReadCommand } from './read.ts'
import { configWriteCommand } from './write.ts'

export function configCommand (): Command {
  return new Command('config')
    .description('Manage configuration entries')
    .addCommand(configWriteCommand())
    .addCommand(configReadCommand())
    .addCommand(configListCommand())
    .addCommand(configDeleteCommand())
    .addCommand(configApplyCommand())
}
