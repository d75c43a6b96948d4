// Options shared by client commands (--http-addr, --format) and commander argument parsers that
// turn a bad value into commander's own one-line "invalid argument" error, before any request.

import { Command, InvalidArgumentError, Option } from 'commander'
import { resolveHttpAddr } from './addresses.ts'
import { AgentClient } from '../api/agent-client.ts'
import { CliError } from './errors.ts'
import type { OutputFormat } from './output.ts'

export interface ClientOptions {
  httpAddr?: string
}

export interface FormatOptions {
  format: OutputFormat
}

/** A command that talks to the agent: it gets --http-addr; build its client with `clientFor`. */
export function clientCommand (name: string): Command {
  return new Command(name)
    .option('--http-addr <addr>', 'agent HTTP API address; also MESH_HTTP_ADDR (default "http://127.0.0.1:8500")')
}

export function withFormat (command: Command): Command {
  return command.addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
}

export function clientFor (options: ClientOptions): AgentClient {
  return new AgentClient(resolveHttpAddr(options.httpAddr, process.env.MESH_HTTP_ADDR))
}

/** Wraps a validator throwing CliError so commander reports it as an invalid option value. */
export function argParser<T> (validate: (text: string) => T): (text: string) => T {
  return (text: string) => {
    try {
      return validate(text)
    } catch (error) {
      if (error instanceof CliError) throw new InvalidArgumentError(error.message)
      throw error
    }
  }
}

/** Same as argParser, for a repeatable flag: collects the validated values in order. */
export function repeatable<T> (validate: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  const parse = argParser(validate)
  return (text, previous) => [...(previous ?? []), parse(text)]
}

/** Help text block shown after the options: every command carries at least one example. */
export function examples (...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map(line => `  $ ${line}`).join('\n')}\n`
}
