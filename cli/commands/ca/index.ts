// `mesh ca`: the group of commands for the mesh's certificate authority.

import { Command } from 'commander'
import { caGetConfigCommand } from './get-config.ts'
import { caLeafCommand } from './leaf.ts'
import { caRootsCommand } from './roots.ts'
import { caRotateCommand } from './rotate.ts'
import { caSetConfigCommand } from './set-config.ts'

export function caCommand (): Command {
  return new Command('ca')
    .description('Inspect and operate the mesh certificate authority')
    .addCommand(caRootsCommand())
    .addCommand(caRotateCommand())
    .addCommand(caGetConfigCommand())
    .addCommand(caSetConfigCommand())
    .addCommand(caLeafCommand())
}
