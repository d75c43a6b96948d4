// Typed reads of JSON registration payloads with Consul's leniency about key spelling: Go's JSON
// decoding matches field names case-insensitively and Consul's config files use snake_case, so
// "Name", "name", "enable_tag_override" and "EnableTagOverride" all find their field. An exact
// match wins over a loose one. Each read checks the value's type and throws the caller's error
// naming the field, so a bad payload is refused with a message saying what to fix.

import { parseDurationMs } from '../../api/duration.ts'
import { isRecord, jsonShapeProblem, type JsonShapeLimits } from '../../api/guards.ts'
import { identifierProblem, type IdentifierRule } from '../../api/identifiers.ts'

/**
 * Caps on an opaque object a registration carries through unread (Proxy.Config, an upstream's
 * Config, Connect.SidecarService): checked before the object is copied or stored.
 */
export const opaqueLimits: JsonShapeLimits = Object.freeze({ maxDepth: 32, maxValues: 10_000 })

const looseKey = (key: string): string => key.toLowerCase().replace(/[_-]/g, '')

export class PayloadFields {
  private readonly record: Record<string, unknown>
  private readonly fail: (message: string) => Error
  private readonly prefix: string

  /** `prefix` names the nested object in messages ("Proxy.", "Connect.SidecarService."). */
  constructor (record: Record<string, unknown>, fail: (message: string) => Error, prefix = '') {
    this.record = record
    this.fail = fail
    this.prefix = prefix
  }

  error (field: string, problem: string): Error {
    return this.fail(`${this.prefix}${field} ${problem}`)
  }

  /** The raw value under the field or any alias; undefined when absent or null. */
  raw (field: string, aliases: string[] = []): unknown {
    for (const name of [field, ...aliases]) {
      if (Object.hasOwn(this.record, name) && this.record[name] !== null) return this.record[name]
    }
    const wanted = new Set([field, ...aliases].map(looseKey))
    for (const [key, value] of Object.entries(this.record)) {
      if (wanted.has(looseKey(key)) && value !== null) return value
    }
    return undefined
  }

  has (field: string, aliases: string[] = []): boolean {
    return this.raw(field, aliases) !== undefined
  }

  string (field: string, aliases: string[] = []): string | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (typeof value !== 'string') throw this.error(field, 'must be a string')
    return value
  }

  boolean (field: string, aliases: string[] = []): boolean | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (typeof value !== 'boolean') throw this.error(field, 'must be true or false')
    return value
  }

  integer (field: string, min: number, max: number, aliases: string[] = []): number | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.error(field, `must be an integer between ${min} and ${max}`)
    }
    return value
  }

  stringArray (field: string, aliases: string[] = []): string[] | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (!Array.isArray(value) || !value.every(item => typeof item === 'string')) throw this.error(field, 'must be an array of strings')
    return [...value]
  }

  stringMap (field: string, aliases: string[] = []): Record<string, string> | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (!isRecord(value) || !Object.values(value).every(item => typeof item === 'string')) {
      throw this.error(field, 'must be an object of string values')
    }
    return { ...value } as Record<string, string>
  }

  object (field: string, aliases: string[] = []): Record<string, unknown> | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (!isRecord(value)) throw this.error(field, 'must be an object')
    return value
  }

  /**
   * `value` (read from `field`, or derived from it) as an ID or name: refused, naming the field
   * and the rule, unless it passes api/identifiers.ts (by default as a path segment).
   */
  identifier (field: string, value: string, rule: IdentifierRule = { pathSegment: true }): string {
    const problem = identifierProblem(value, rule)
    if (problem !== undefined) throw this.error(field, `${JSON.stringify(value.slice(0, 64))} ${problem}`)
    return value
  }

  /**
   * An object kept as given (opaque): its shape is checked against `opaqueLimits` with an
   * iterative walk first, and only then is it copied, so no nesting can overflow the stack.
   */
  opaqueObject (field: string, aliases: string[] = []): Record<string, unknown> | undefined {
    const value = this.object(field, aliases)
    if (value === undefined) return undefined
    const problem = jsonShapeProblem(value, opaqueLimits)
    if (problem !== undefined) {
      throw this.error(field, `${problem} (the cap is ${opaqueLimits.maxDepth} levels and ${opaqueLimits.maxValues} values)`)
    }
    return structuredClone(value)
  }

  array (field: string, aliases: string[] = []): unknown[] | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined) return undefined
    if (!Array.isArray(value)) throw this.error(field, 'must be an array')
    return value
  }

  /** A Go duration ("10s") or a number of nanoseconds, as Consul accepts; returns milliseconds. */
  durationMs (field: string, aliases: string[] = []): number | undefined {
    const value = this.raw(field, aliases)
    if (value === undefined || value === '') return undefined
    if (typeof value !== 'string' && typeof value !== 'number') throw this.error(field, 'must be a duration such as "10s"')
    try {
      return parseDurationMs(value)
    } catch {
      throw this.error(field, `must be a duration such as "10s", got ${JSON.stringify(value)}`)
    }
  }
}
