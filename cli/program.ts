// The `mesh` command's body: assembles the command tree and turns every failure, whether commander's
// usage errors or a command's, into a single "Error: ..." line on stderr and exit code 1.
// Imports here stay to commander and cli/ files: the agent is loaded only by `agent start`.

import { Command, CommanderError } from 'commander'
import { oneLine } from './errors.ts'
import { MESH_VERSION } from './version-info.ts'

export const FAILURE_EXIT_CODE = 1

/**
 * Each command's module loads only when that command runs: stripping types from every command
 * file costs more than Node's own start, and `mesh members` should answer in about 0.1 s.
 * Help and unknown commands load them all, so the listing and suggestions stay complete.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('./commands/agent.ts')).agentCommand(),
  members: async () => (await import('./commands/members.ts')).membersCommand(),
  join: async () => (await import('./commands/join.ts')).joinCommand(),
  leave: async () => (await import('./commands/leave.ts')).leaveCommand(),
  reload: async () => (await import('./commands/reload.ts')).reloadCommand(),
  'force-leave': async () => (await import('./commands/force-leave.ts')).forceLeaveCommand(),
  register: async () => (await import('./commands/register.ts')).registerCommand(),
  deregister: async () => (await import('./commands/deregister.ts')).deregisterCommand(),
  catalog: async () => (await import('./commands/catalog/index.ts')).catalogCommand(),
  health: async () => (await import('./commands/health.ts')).healthCommand(),
  intentions: async () => (await import('./commands/intentions/index.ts')).intentionsCommand(),
  ca: async () => (await import('./commands/ca/index.ts')).caCommand(),
  config: async () => (await import('./commands/config/index.ts')).configCommand(),
  proxy: async () => (await import('./commands/proxy.ts')).proxyCommand(),
  keygen: async () => (await import('./commands/keygen.ts')).keygenCommand(),
  version: async () => (await import('./commands/version.ts')).versionCommand(),
}

const ALIASES: Record<string, string> = { intention: 'intentions' }

async function buildProgram (requested: string | undefined): Promise<Command> {
  const name = requested === undefined ? undefined : ALIASES[requested] ?? requested
  const names = name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS)
  const program = new Command('mesh')
    .description('A Consul-style service mesh: run the agent, register services, manage intentions, CA and configuration')
    .version(MESH_VERSION, '-v, --version', 'print the mesh version')
  for (const command of await Promise.all(names.map(loadName => COMMANDS[loadName]()))) program.addCommand(command)
  return program
}

/** addCommand() does not pass settings down, so every command in the tree gets them here. */
function configureTree (command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (text, writeError) => writeError(`Error: ${oneLine(text.replace(/^error:\s*/i, ''))}\n`),
    })
  for (const subcommand of command.commands) configureTree(subcommand)
}

/** Runs one invocation; never throws: failures set process.exitCode after one line on stderr. */
export async function main (argv: string[]): Promise<void> {
  // `mesh catalog services | head -1` closes the pipe early: the reader's choice, not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(0)
  })
  try {
    const program = await buildProgram(argv[2])
    configureTree(program)
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (or the help); keep its exit code (0 for --help).
      process.exitCode = error.exitCode
    } else {
      process.stderr.write(`Error: ${oneLine(error instanceof Error ? error.message : String(error))}\n`)
      process.exitCode = FAILURE_EXIT_CODE
    }
  }
}
