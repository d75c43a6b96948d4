// `mesh members`: the cluster members as this agent sees them (GET /v1/agent/members), with
// Consul's numeric gossip status turned into its name.

import { Command } from 'commander'
import { UsageError } from '../errors.ts'
import { renderTable, write, writeJson } from '../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../options.ts'
import type { ClientOptions, FormatOptions } from '../options.ts'
import { joinHostPort } from '../format.ts'

/** Consul's Member as GET /v1/agent/members returns it (the fields the table uses). */
export interface Member {
  Name: string
  Addr: string
  Port: number
  Tags?: Record<string, string>
  Status: number
  ProtocolCur?: number
}

/** serf's MemberStatus values, which Consul's API exposes as numbers. */
const MEMBER_STATUS_NAMES = ['none', 'alive', 'leaving', 'left', 'failed']

export function memberStatusName (status: number): string {
  return MEMBER_STATUS_NAMES[status] ?? `unknown(${status})`
}

/** Consul tags servers with role "consul" and clients with role "node". */
function memberType (tags: Record<string, string>): string {
  if (tags.role === 'consul' || tags.role === 'server') return 'server'
  if (tags.role === 'node' || tags.role === 'client') return 'client'
  return tags.role ?? ''
}

interface MembersOptions extends ClientOptions, FormatOptions {
  status?: string
}

export function membersCommand (): Command {
  return withFormat(clientCommand('members'))
    .description('List the cluster members known to the agent')
    .option('--status <regex>', 'only members whose status (alive, leaving, left, failed) matches the regular expression')
    .addHelpText('after', examples(
      'mesh members',
      'mesh members --status failed --format json',
    ))
    .action(async (options: MembersOptions) => {
      let statusFilter: RegExp | undefined
      try {
        statusFilter = options.status === undefined ? undefined : new RegExp(options.status)
      } catch (error) {
        throw new UsageError(`--status is not a valid regular expression: ${(error as Error).message}`)
      }
      const members = await clientFor(options).get<Member[]>('/v1/agent/members')
      const shown = (members ?? [])
        .filter(member => statusFilter === undefined || statusFilter.test(memberStatusName(member.Status)))
        .sort((a, b) => a.Name.localeCompare(b.Name))
      if (options.format === 'json') {
        writeJson(shown)
        return
      }
      write(renderTable(['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'], shown.map(member => {
        const tags = member.Tags ?? {}
        return [
          member.Name,
          joinHostPort(member.Addr, member.Port),
          memberStatusName(member.Status),
          memberType(tags),
          (tags.build ?? '').split(':')[0],
          tags.vsn ?? (member.ProtocolCur === undefined ? '' : String(member.ProtocolCur)),
          tags.dc ?? '',
        ]
      })))
    })
}
