// `mesh intentions apply FILE`: writes intentions kept in version control. The file holds one
// intention, an array of them, or service-intentions config entries (with L7 Permissions).
//
// A service-intentions entry is the whole truth for its destination and is written as is
// (PUT /v1/config). A plain intention only changes its own source: it is merged into the
// destination's entry with check-and-set (`?cas=<ModifyIndex>`), so applying "web → api" never
// drops "admin → api" written by someone else, and a concurrent writer is retried, not overwritten.

import { Command } from 'commander'
import type { AgentClient } from '../../client.ts'
import { deepEqual, normalize } from '../../config-diff.ts'
import { ConcurrentChangeError } from '../../errors.ts'
import { readJsonFile } from '../../input-file.ts'
import { parseIntentionsFile } from '../../intentions.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface ServiceIntentionsEntry extends Record<string, unknown> {
  Kind: string
  Name: string
  Sources?: Array<Record<string, unknown>> | null
  ModifyIndex?: number
}

interface ApplyResult {
  Target: string
  Result: 'created' | 'updated' | 'unchanged' | 'written'
}

/** Tries enough times to ride out a burst of writers, few enough to fail fast in a fight. */
const CAS_ATTEMPTS = 5
const SOURCE_FIELDS = ['Action', 'Permissions', 'Description']

function sameSource (a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return SOURCE_FIELDS.every(field => deepEqual(normalize(a[field]), normalize(b[field])))
}

async function mergeSource (client: AgentClient, destination: string, source: Record<string, unknown>): Promise<ApplyResult['Result']> {
  const path = `/v1/config/service-intentions/${encodeURIComponent(destination)}`
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const existing = await client.getOptional<ServiceIntentionsEntry>(path)
    const sources = existing?.Sources ?? []
    const index = sources.findIndex(candidate => candidate.Name === source.Name)
    if (index !== -1 && sameSource(sources[index], source)) return 'unchanged'
    const merged = index === -1 ? [...sources, source] : sources.map((candidate, at) => at === index ? source : candidate)
    const { CreateIndex: _created, ModifyIndex: modifyIndex, Hash: _hash, ...rest } = existing ?? { Kind: 'service-intentions', Name: destination }
    // cas=0 means "only if absent"; an agent that reports no ModifyIndex gets a plain write.
    const cas = existing === null ? '0' : modifyIndex === undefined ? undefined : String(modifyIndex)
    const written = await client.put<boolean>('/v1/config', { ...rest, Sources: merged }, { cas })
    if (written !== false) return index === -1 ? 'created' : 'updated'
  }
  throw new ConcurrentChangeError(`service-intentions/${destination}`, CAS_ATTEMPTS)
}

export function intentionsApplyCommand (): Command {
  return withFormat(clientCommand('apply'))
    .description('Apply intentions from a JSON file (plain intentions or service-intentions entries)')
    .argument('<file>', 'JSON file ("-" for stdin)')
    .addHelpText('after', examples(
      'mesh intentions apply intentions/api.json',
      `echo '{"SourceName":"web","DestinationName":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/v1/","Methods":["GET"]}}]}' | mesh intentions apply -`,
    ))
    .action(async (file: string, options: ClientOptions & FormatOptions) => {
      const items = parseIntentionsFile(file, readJsonFile(file))
      const client = clientFor(options)
      const results: ApplyResult[] = []
      for (const item of items) {
        if (item.kind === 'entry') {
          await client.put('/v1/config', item.entry)
          results.push({ Target: `service-intentions/${String(item.entry.Name)}`, Result: 'written' })
        } else {
          const result = await mergeSource(client, item.destination, item.source)
          results.push({ Target: `${String(item.source.Name)} => ${item.destination}`, Result: result })
        }
      }
      if (options.format === 'json') {
        writeJson(results)
        return
      }
      write(renderTable(['Intention', 'Result'], results.map(result => [result.Target, result.Result])))
    })
}
