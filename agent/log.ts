// The agent's root logger: pino, JSON or a compact text form, one child logger per component
// (`mesh:membership`, `mesh:catalog`, …). Text output is formatted here to avoid a pretty-printer
// dependency: `2026-11-26T11:00:00.000Z [INFO]  mesh:agent: agent started node=a1 http=127.0.0.1:8500`.

import { Writable } from 'node:stream'
import pino from 'pino'
import type { Logger } from 'pino'

export type LogFormat = 'text' | 'json'
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LOG_LEVELS[number]

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component'])

function formatValue (value: unknown): string {
  if (typeof value === 'string') return /\s|=|"/.test(value) ? JSON.stringify(value) : value
  if (value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify((value as Error).message)
  return JSON.stringify(value)
}

/** Turns one pino JSON line into the text form. Exported for its test. */
export function formatTextLine (line: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level)
  const time = new Date(record.time as number).toISOString()
  const component = typeof record.component === 'string' ? `${record.component}: ` : ''
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ')
  return `${time} [${level}]${' '.repeat(Math.max(1, 7 - level.length))}${component}${String(record.msg ?? '')}${fields === '' ? '' : ' ' + fields}\n`
}

function textStream (output: NodeJS.WritableStream): Writable {
  let pending = ''
  return new Writable({
    write (chunk: Buffer, _encoding, callback) {
      pending += chunk.toString('utf8')
      let newline = pending.indexOf('\n')
      while (newline !== -1) {
        output.write(formatTextLine(pending.slice(0, newline)))
        pending = pending.slice(newline + 1)
        newline = pending.indexOf('\n')
      }
      callback()
    },
  })
}

export function createLogger (options: { level: LogLevel, format: LogFormat, output?: NodeJS.WritableStream }): Logger {
  const output = options.output ?? process.stderr
  const destination = options.format === 'json' ? output : textStream(output)
  return pino({ level: options.level, base: undefined }, destination as pino.DestinationStream)
}

export const silentLogger = (): Logger => pino({ level: 'silent' })
