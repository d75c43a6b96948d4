// Consul's `?filter=` expressions (the go-bexpr grammar), compiled to a predicate over a response
// element.
//
// A recursive-descent parser follows bexpr's grammar: `or` binds loosest, then `and`, then `not`,
// then parentheses and match expressions. A match is `Selector == Value`, `Selector != Value`,
// `Selector [not] contains Value`, `Selector [not] matches Value`, `Selector is [not] empty`, or
// `Value [not] in Selector`. Selectors are dotted (`Service.Meta.version`, `.0` indexes a list) or
// bracketed (`Meta["env"]`); values are double-quoted strings (Go escapes), backtick raw strings,
// numbers, or bare words (taken as their text, so `Status == passing` works). The literal is
// compared in the type of the field it meets: numbers numerically, booleans by Go's ParseBool.
// As in bexpr, a selector that passes through a list selects every element ("any element
// matches"), and a selector that finds nothing makes `==`, `contains`, `in`, `matches` and
// `is not empty` false and their negations (and `is empty`) true. Errors name the position.
//
// `matches` patterns come from HTTP clients, and Consul runs them on Go's linear-time RE2. Here a
// pattern is accepted only if V8's linear-time engine can run it (compiling with the `l` flag: no
// backreferences, no lookaround), and V8 falls back to that engine when a match exceeds its
// backtrack budget, so a pattern like `(a+)+b` cannot pin a core.

import v8 from 'node:v8'
import { FilterError } from './errors.ts'

v8.setFlagsFromString('--enable-experimental-regexp-engine')
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')

export type Predicate = (value: unknown) => boolean

const MAX_EXPRESSION_CHARS = 8192
const MAX_DEPTH = 64
const MAX_PATTERN_CHARS = 1024
const IDENTIFIER = /[a-zA-Z][a-zA-Z0-9_/]*/y
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?/y
const WHITESPACE = /[ \t\r\n]+/y

type Operator = '==' | '!=' | 'contains' | 'not contains' | 'matches' | 'not matches' | 'is empty' | 'is not empty'
/** Operators that hold when the selector finds nothing. */
const TRUE_WHEN_MISSING = new Set<Operator>(['!=', 'not contains', 'not matches', 'is empty'])

class Parser {
  private readonly input: string
  private position = 0
  private depth = 0

  constructor (input: string) {
    this.input = input
  }

  parse (): Predicate {
    this.skipSpace()
    if (this.atEnd()) throw new FilterError('empty expression', 0)
    const predicate = this.orExpression()
    this.skipSpace()
    if (!this.atEnd()) throw this.error(this.peek() === ')' ? 'unmatched ")"' : `unexpected "${this.rest(12)}"`)
    return predicate
  }

  private orExpression (): Predicate {
    const left = this.andExpression()
    if (!this.keyword('or')) return left
    const right = this.orExpression()
    return value => left(value) || right(value)
  }

  private andExpression (): Predicate {
    const left = this.notExpression()
    if (!this.keyword('and')) return left
    const right = this.andExpression()
    return value => left(value) && right(value)
  }

  private notExpression (): Predicate {
    this.skipSpace()
    if (this.keyword('not')) {
      const operand = this.nested(() => this.notExpression())
      return value => !operand(value)
    }
    return this.primary()
  }

  private primary (): Predicate {
    this.skipSpace()
    if (this.peek() === '(') {
      const open = this.position
      this.position++
      const inner = this.nested(() => this.orExpression())
      this.skipSpace()
      if (this.peek() !== ')') throw new FilterError('unmatched parentheses: missing ")" for "("', open)
      this.position++
      return inner
    }
    return this.match()
  }

  private match (): Predicate {
    const start = this.position
    if (this.peek() === '"' || this.peek() === '`' || /[-0-9]/.test(this.peek())) {
      const literal = this.literal()
      return this.valueInSelector(literal, start)
    }
    const selector = this.selector()
    this.skipSpace()
    if (this.consume('==')) return makeMatch(selector.path, '==', this.value())
    if (this.consume('!=')) return makeMatch(selector.path, '!=', this.value())
    if (this.keyword('is')) {
      const negated = this.keyword('not')
      if (!this.keyword('empty')) throw this.error('expected "empty" after "is"')
      return makeMatch(selector.path, negated ? 'is not empty' : 'is empty', '')
    }
    if (this.keyword('contains')) return makeMatch(selector.path, 'contains', this.value())
    if (this.keyword('matches')) return makeRegexMatch(selector.path, false, this.value(), this.position)
    if (this.keyword('in')) return this.valueInSelector(selector.text, start, false)
    const save = this.position
    if (this.keyword('not')) {
      if (this.keyword('contains')) return makeMatch(selector.path, 'not contains', this.value())
      if (this.keyword('matches')) return makeRegexMatch(selector.path, true, this.value(), this.position)
      if (this.keyword('in')) return this.valueInSelector(selector.text, start, true)
      this.position = save
    }
    throw this.error(this.atEnd()
      ? `expected an operator (==, !=, in, not in, contains, not contains, matches, not matches, is empty, is not empty) after "${selector.text}", found the end`
      : `expected an operator after "${selector.text}", found "${this.rest(12)}"`)
  }

  /** `Value [not] in Selector`; `negated` is undefined when the operator is still to be read. */
  private valueInSelector (value: string, start: number, negated?: boolean): Predicate {
    if (negated === undefined) {
      if (this.keyword('in')) negated = false
      else if (this.keyword('not') && this.keyword('in')) negated = true
      else throw new FilterError('a value on the left must be followed by "in" or "not in"', start)
    }
    this.skipSpace()
    if (this.atEnd() || !/[a-zA-Z]/.test(this.peek())) throw this.error('invalid selector after "in"')
    return makeMatch(this.selector().path, negated ? 'not contains' : 'contains', value)
  }

  private selector (): { path: string[], text: string } {
    const start = this.position
    const first = this.identifier()
    if (first === undefined) throw this.error(this.atEnd() ? 'expected a selector, found the end' : `expected a selector, found "${this.rest(12)}"`)
    const path = [first]
    for (;;) {
      if (this.peek() === '.') {
        this.position++
        const part = this.identifier() ?? this.digits()
        if (part === undefined) throw this.error('expected a field name or index after "."')
        path.push(part)
      } else if (this.peek() === '[') {
        const open = this.position
        this.position++
        this.skipSpace()
        if (this.peek() !== '"' && this.peek() !== '`') throw this.error('invalid index: expected a quoted string')
        path.push(this.stringLiteral())
        this.skipSpace()
        if (this.peek() !== ']') throw new FilterError('unclosed index expression', open)
        this.position++
      } else {
        return { path, text: this.input.slice(start, this.position) }
      }
    }
  }

  private value (): string {
    this.skipSpace()
    if (this.atEnd()) throw this.error('expected a value, found the end')
    if (/[a-zA-Z]/.test(this.peek())) return this.selector().text
    return this.literal()
  }

  private literal (): string {
    if (this.peek() === '"' || this.peek() === '`') return this.stringLiteral()
    NUMBER.lastIndex = this.position
    const match = NUMBER.exec(this.input)
    if (match === null) throw this.error(`expected a value, found "${this.rest(12)}"`)
    const after = this.input[this.position + match[0].length]
    if (after !== undefined && !/[ \t\r\n)]/.test(after)) throw this.error('invalid number literal')
    this.position += match[0].length
    return match[0]
  }

  private stringLiteral (): string {
    const start = this.position
    const quote = this.input[start]
    const end = this.input.indexOf(quote, start + 1)
    if (end < 0) throw new FilterError('unterminated string literal', start)
    this.position = end + 1
    const body = this.input.slice(start + 1, end)
    if (quote === '`') return body
    if (body.endsWith('\\') && !body.endsWith('\\\\')) throw new FilterError('unterminated string literal', start)
    try {
      return JSON.parse(`"${body}"`) as string
    } catch {
      throw new FilterError('invalid escape in string literal', start)
    }
  }

  private identifier (): string | undefined {
    IDENTIFIER.lastIndex = this.position
    const match = IDENTIFIER.exec(this.input)
    if (match === null) return undefined
    this.position += match[0].length
    return match[0]
  }

  private digits (): string | undefined {
    const match = /[0-9]+/y
    match.lastIndex = this.position
    const found = match.exec(this.input)
    if (found === null) return undefined
    this.position += found[0].length
    return found[0]
  }

  /** Consumes `word` (after optional whitespace) when it stands alone; otherwise consumes nothing. */
  private keyword (word: string): boolean {
    const save = this.position
    this.skipSpace()
    if (this.input.startsWith(word, this.position)) {
      const after = this.input[this.position + word.length]
      if (after === undefined || /[ \t\r\n()"`]/.test(after)) {
        this.position += word.length
        return true
      }
    }
    this.position = save
    return false
  }

  private consume (symbol: string): boolean {
    if (!this.input.startsWith(symbol, this.position)) return false
    this.position += symbol.length
    return true
  }

  private nested<T> (parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw this.error(`expression nested deeper than ${MAX_DEPTH}`)
    try {
      return parse()
    } finally {
      this.depth--
    }
  }

  private skipSpace (): void {
    WHITESPACE.lastIndex = this.position
    if (WHITESPACE.exec(this.input) !== null) this.position = WHITESPACE.lastIndex
  }

  private peek (): string { return this.input[this.position] ?? '' }
  private atEnd (): boolean { return this.position >= this.input.length }
  private rest (chars: number): string { return this.input.slice(this.position, this.position + chars) }
  private error (message: string): FilterError { return new FilterError(message, this.position) }
}

/** Everything `path` selects in `root`, or undefined when it selects nothing. */
function select (root: unknown, path: string[]): unknown[] | undefined {
  let current: unknown[] = [root]
  for (const part of path) {
    const next: unknown[] = []
    for (const value of current) {
      if (Array.isArray(value)) {
        if (/^[0-9]+$/.test(part)) {
          if (Number(part) < value.length) next.push(value[Number(part)])
        } else {
          for (const element of value) {
            if (typeof element === 'object' && element !== null && Object.hasOwn(element, part)) next.push((element as Record<string, unknown>)[part])
          }
        }
      } else if (typeof value === 'object' && value !== null && Object.hasOwn(value, part)) {
        next.push((value as Record<string, unknown>)[part])
      }
    }
    if (next.length === 0) return undefined
    current = next
  }
  return current
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** The literal compared in the type of the field (bexpr coerces the value to the field's kind). */
function equals (field: unknown, literal: string): boolean {
  if (typeof field === 'string') return field === literal
  if (typeof field === 'number') return literal.trim() !== '' && Number(literal) === field
  if (typeof field === 'boolean') return field ? TRUE_WORDS.has(literal) : FALSE_WORDS.has(literal)
  if (field === null || field === undefined) return literal === ''
  return false
}

function contains (field: unknown, literal: string): boolean {
  if (typeof field === 'string') return field.includes(literal)
  if (Array.isArray(field)) return field.some(element => equals(element, literal))
  if (typeof field === 'object' && field !== null) return Object.hasOwn(field, literal)
  return false
}

function isEmpty (field: unknown): boolean {
  if (field === null || field === undefined) return true
  if (typeof field === 'string' || Array.isArray(field)) return field.length === 0
  if (typeof field === 'object') return Object.keys(field).length === 0
  return false
}

function makeMatch (path: string[], operator: Operator, literal: string): Predicate {
  const test = (field: unknown): boolean => {
    switch (operator) {
      case '==': return equals(field, literal)
      case '!=': return !equals(field, literal)
      case 'contains': return contains(field, literal)
      case 'not contains': return !contains(field, literal)
      case 'is empty': return isEmpty(field)
      default: return !isEmpty(field)
    }
  }
  return value => {
    const fields = select(value, path)
    return fields === undefined ? TRUE_WHEN_MISSING.has(operator) : fields.some(test)
  }
}

/**
 * Go's `(?i)` prefix: the linear-time engine has no case-insensitive mode, so the pattern's letters
 * (except escape letters such as `\S`) and the input are both lower-cased instead.
 */
function foldCase (pattern: string): string {
  return pattern.replace(/(\\.)|[A-Z]+/g, (match, escape: string | undefined) => escape ?? match.toLowerCase())
}

function makeRegexMatch (path: string[], negated: boolean, pattern: string, position: number): Predicate {
  if (pattern.length > MAX_PATTERN_CHARS) throw new FilterError(`regular expression longer than ${MAX_PATTERN_CHARS} characters`, position)
  const caseInsensitive = pattern.startsWith('(?i)')
  const source = caseInsensitive ? foldCase(pattern.slice(4)) : pattern
  let regex: RegExp
  try {
    void new RegExp(source, 'l')
    regex = new RegExp(source)
  } catch (error) {
    const detail = (error as Error).message.replace(/^Invalid regular expression: /, '')
    throw new FilterError(`invalid regular expression (backreferences and lookaround are not supported): ${detail}`, position)
  }
  const matches = (text: string): boolean => regex.test(caseInsensitive ? text.toLowerCase() : text)
  const test = (field: unknown): boolean => {
    if (typeof field === 'string') return matches(field) !== negated
    if (Array.isArray(field)) return field.some(element => typeof element === 'string' && matches(element)) !== negated
    return negated
  }
  return value => {
    const fields = select(value, path)
    return fields === undefined ? negated : fields.some(test)
  }
}

/** Compiles a bexpr expression; throws FilterError naming the problem and its position. */
export function compileFilter (expression: string): Predicate {
  if (expression.length > MAX_EXPRESSION_CHARS) throw new FilterError(`expression longer than ${MAX_EXPRESSION_CHARS} characters`, MAX_EXPRESSION_CHARS)
  return new Parser(expression).parse()
}
