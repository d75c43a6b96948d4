// Reading the JSON files users hand to register, config write/apply, intentions apply and ca
// set-config; "-" reads stdin so a pipeline can generate the JSON.

import { readFileSync } from 'node:fs'
import { InputFileError } from './errors.ts'

export function readJsonFile (path: string): unknown {
  let text: string
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new InputFileError(path, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (error as Error).message})`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new InputFileError(path, `not valid JSON (${(error as Error).message})`)
  }
}

