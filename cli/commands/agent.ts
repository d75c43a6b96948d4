// `mesh agent`: the group holding `mesh agent start`.

import { Command } from 'commander'
import { agentStartCommand } from './agent-start.ts'

export function agentCommand (): Command {
  return new Command('agent')
    .description('Run the mesh agent')
    .addCommand(agentStartCommand())
}
