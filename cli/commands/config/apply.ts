// `mesh config apply DIR`: the CI/CD step. Applies every *.json file of a directory kept in git,
// in file-name order (prefix names with 00-, 10-, ... when one entry needs another first), one
// entry or an array per file. Every file is read and validated before anything is written; then
// each entry is read back from the agent (GET before PUT); the agent validates every entry that
// differs (PUT ?validate, nothing stored), and only when it accepts them all are they written.
// The command prints what it created, updated or left unchanged, with the changed fields.
// `--dry-run` prints the same plan and writes nothing; `--diff` adds each changed field's old and
// new value, for a reviewer reading a CI log.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { changedFields, fieldChanges } from '../../config-diff.ts'
import type { FieldChange } from '../../config-diff.ts'
import { configEntryPath, entriesFromFile } from '../../config-entries.ts'
import type { ConfigEntry } from '../../config-entries.ts'
import { InputFileError } from '../../errors.ts'
import { readJsonFile } from '../../input-file.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface ApplyOptions extends ClientOptions, FormatOptions {
  dryRun?: boolean
  diff?: boolean
}

interface PlannedEntry {
  file: string
  entry: ConfigEntry
}

export interface ApplyResult {
  File: string
  Kind: string
  Name: string
  Result: 'created' | 'updated' | 'unchanged'
  ChangedFields: string[]
  /** Only with --diff. */
  Changes?: FieldChange[]
}

/** Reads and validates the whole directory; a single bad file stops everything before any write. */
export function planDirectory (directory: string): PlannedEntry[] {
  let files: string[]
  try {
    files = readdirSync(directory, { withFileTypes: true })
      .filter(dirent => dirent.isFile() && dirent.name.endsWith('.json'))
      .map(dirent => dirent.name)
      // Code-point order, not locale order: the same on every CI runner.
      .sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new InputFileError(directory, code === 'ENOENT' ? 'no such directory' : `cannot read directory (${code ?? (error as Error).message})`)
  }
  if (files.length === 0) throw new InputFileError(directory, 'holds no *.json file')
  const seen = new Map<string, string>()
  const planned: PlannedEntry[] = []
  for (const name of files) {
    const file = join(directory, name)
    for (const entry of entriesFromFile(file, readJsonFile(file))) {
      const key = `${entry.Kind}/${entry.Name}`
      const earlier = seen.get(key)
      if (earlier !== undefined) throw new InputFileError(file, `${key} is already defined in ${earlier}`)
      seen.set(key, file)
      planned.push({ file, entry })
    }
  }
  return planned
}

/** One block per entry: each field with "-" before and "+" after, values as compact JSON. */
function renderChanges (result: ApplyResult): string {
  const lines = [`\n${result.Kind}/${result.Name} (${result.File})`]
  for (const change of result.Changes ?? []) {
    lines.push(`  ${change.Field}`)
    if (change.Before !== undefined) lines.push(`  - ${JSON.stringify(change.Before)}`)
    if (change.After !== undefined) lines.push(`  + ${JSON.stringify(change.After)}`)
  }
  return lines.join('\n')
}

export function configApplyCommand (): Command {
  return withFormat(clientCommand('apply'))
    .description('Apply every *.json configuration entry in a directory, printing what changed')
    .argument('<dir>', 'directory of JSON files (one entry or an array per file)')
    .option('--dry-run', 'show what would change without writing anything')
    .option('--diff', 'also show the old and new value of every changed field')
    .addHelpText('after', examples(
      'mesh config apply mesh-config/',
      'mesh config apply mesh-config/ --dry-run --diff',
      'mesh config apply mesh-config/ --format json',
    ))
    .action(async (directory: string, options: ApplyOptions) => {
      const planned = planDirectory(directory)
      const client = clientFor(options)
      const results: ApplyResult[] = []
      const toWrite: PlannedEntry[] = []
      for (const { file, entry } of planned) {
        const existing = await client.getOptional<Record<string, unknown>>(configEntryPath(entry.Kind, entry.Name))
        const changed = existing === null ? [] : changedFields(entry, existing)
        const result = existing === null ? 'created' : changed.length > 0 ? 'updated' : 'unchanged'
        if (result !== 'unchanged') toWrite.push({ file, entry })
        const applied: ApplyResult = { File: file, Kind: entry.Kind, Name: entry.Name, Result: result, ChangedFields: changed }
        if (options.diff === true) applied.Changes = fieldChanges(entry, existing)
        results.push(applied)
      }
      // The agent checks every entry that would change, in order and each seeing those before it
      // (a router needs its service's protocol), storing nothing, before the first write: a
      // directory with one bad entry changes nothing, dry run or not.
      const refused: string[] = []
      const verdicts = toWrite.length === 0 ? [] : await client.post<Array<string | null>>('/v1/mesh/config/validate', toWrite.map(({ entry }) => entry))
      toWrite.forEach(({ file, entry }, index) => {
        const verdict = verdicts[index]
        if (verdict !== null && verdict !== undefined) refused.push(`${file}: ${entry.Kind}/${entry.Name}: ${verdict}`)
      })
      if (refused.length > 0) {
        throw new InputFileError(directory, `the agent refused ${refused.length} of ${toWrite.length} changed ${toWrite.length === 1 ? 'entry' : 'entries'}, nothing was written:\n  ${refused.join('\n  ')}`)
      }
      if (options.dryRun !== true) for (const { entry } of toWrite) await client.put('/v1/config', entry)
      if (options.format === 'json') {
        writeJson(results)
        return
      }
      const verb = (result: ApplyResult['Result']): string =>
        options.dryRun === true && result !== 'unchanged' ? `would be ${result}` : result
      write(renderTable(['Entry', 'Result', 'Changed', 'File'], results.map(result =>
        [`${result.Kind}/${result.Name}`, verb(result.Result), result.ChangedFields.join(','), result.File])))
      const count = (result: ApplyResult['Result']): number => results.filter(candidate => candidate.Result === result).length
      if (options.diff === true) {
        for (const result of results.filter(candidate => candidate.Result !== 'unchanged')) write(renderChanges(result))
        write('')
      }
      write(`${options.dryRun === true ? 'Dry run, nothing written: ' : ''}${results.length} ${results.length === 1 ? 'entry' : 'entries'}: ` +
        `${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`)
    })
}
