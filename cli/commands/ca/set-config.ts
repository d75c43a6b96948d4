// `mesh ca set-config FILE`: sets the CA configuration (PUT /v1/connect/ca/configuration); the
// file is what `mesh ca get-config` prints, edited. It says what changed, field by field, by
// reading the configuration before and after: the agent fills fields the file leaves out and
// formats durations its own way ("24h" is stored as "24h0m0s"), so only its own view compares.
//
// A RootCert that is already the active root is the state asked for: the agent refuses to
// "rotate" to the root in force, so it is left out of the request (with its PrivateKey) and the
// rest of the file applies. Any other RootCert makes the agent rotate to it.

import { Command } from 'commander'
import { fieldChanges } from '../../config-diff.ts'
import { InputFileError } from '../../errors.ts'
import { readJsonFile } from '../../input-file.ts'
import { write } from '../../output.ts'
import { clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'
import type { CaRoots } from './roots.ts'
import { isRecord } from '../../../api/guards.ts'
import type { AgentClient } from '../../../api/agent-client.ts'

const CONFIGURATION_PATH = '/v1/connect/ca/configuration'

async function currentConfig (client: AgentClient): Promise<Record<string, unknown>> {
  const config = (await client.get<{ Config?: unknown } | undefined>(CONFIGURATION_PATH))?.Config
  return isRecord(config) ? config : {}
}

/** The file's Config without RootCert/PrivateKey when RootCert is the active root already. */
async function withoutActiveRoot (client: AgentClient, config: Record<string, unknown>): Promise<{ body: Record<string, unknown>, rotates: boolean }> {
  const inner = config.Config
  const rootCert = isRecord(inner) && typeof inner.RootCert === 'string' ? inner.RootCert.trim() : ''
  if (!isRecord(inner) || rootCert === '') return { body: config, rotates: false }
  const roots = await client.get<CaRoots | undefined>('/v1/connect/ca/roots')
  const active = (roots?.Roots ?? []).find(root => root.Active)
  if (active?.RootCert.trim() !== rootCert) return { body: config, rotates: true }
  const rest = Object.fromEntries(Object.entries(inner).filter(([field]) => field !== 'RootCert' && field !== 'PrivateKey'))
  return { body: { ...config, Config: rest }, rotates: false }
}

function describe (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '(none)'
}

export function caSetConfigCommand (): Command {
  return clientCommand('set-config')
    .description('Set the CA configuration from a JSON file')
    .argument('<file>', 'JSON file with "Provider" and "Config" ("-" for stdin)')
    .addHelpText('after', examples(
      'mesh ca get-config > ca.json && $EDITOR ca.json && mesh ca set-config ca.json',
      `echo '{"Provider":"consul","Config":{"LeafCertTTL":"24h"}}' | mesh ca set-config -`,
    ))
    .action(async (file: string, options: ClientOptions) => {
      const config = readJsonFile(file)
      if (!isRecord(config) || typeof config.Provider !== 'string' || config.Provider === '') {
        throw new InputFileError(file, 'must be a JSON object with a "Provider"')
      }
      const client = clientFor(options)
      const before = await currentConfig(client)
      const { body, rotates } = await withoutActiveRoot(client, config)
      await client.put(CONFIGURATION_PATH, body)
      const changes = fieldChanges(await currentConfig(client), before)
        .map(change => `${change.Field} ${describe(change.Before)} → ${describe(change.After)}`)
      if (rotates) changes.unshift('active root → the supplied RootCert')
      write(changes.length === 0 ? 'Unchanged: CA configuration' : `Changed: CA configuration (${changes.join(', ')})`)
    })
}
