// The service-router's route table as the proxy runs it: compiled once per snapshot (regular
// expressions built here, never per request) and matched per request in order, first match wins,
// as Consul's discovery chain and Envoy's route table do. Path conditions look at the path without
// its query string; header conditions follow Envoy's HeaderMatcher (an absent header fails every
// kind, so only an inverted `present` holds for it); regexes must match the whole value.

import { compileFullMatchRegex } from '../api/intentions/match.ts'
import type { HeaderMutation, RouteHeaderMatch, RouteQueryMatch, RouteSnapshot } from './snapshot.ts'

export type RouteHeaders = Record<string, string | string[] | undefined>

/** The parts of a request a route looks at. */
export interface RouteRequest {
  method: string
  /** Request target as received, query string included. */
  path: string
  /** Lower-cased names, as node gives them. */
  headers: RouteHeaders
}

/** One request being matched: its path split from the query once, the query parsed on first use. */
export interface MatchContext {
  request: RouteRequest
  path: string
  query: string
  params: Map<string, string> | null
}

export interface CompiledRoute {
  /** Position in the router's Routes (the default route comes last). */
  index: number
  route: RouteSnapshot
  /** Literal text the path must start with (PathPrefix, PathExact, a regex's literal start); '' for none. */
  gate: string
  /** Methods the route takes (upper case); null for any. */
  methods: ReadonlySet<string> | null
  /** The conditions beyond the gate and the methods. */
  rest: ((context: MatchContext) => boolean) | null
  /** Every condition of the route. */
  matches: (context: MatchContext) => boolean
}

export interface CompiledRouter {
  routes: CompiledRoute[]
  /** The first route whose conditions hold, or null. */
  match: (request: RouteRequest) => CompiledRoute | null
}

type Condition = (context: MatchContext) => boolean

function headerValue (headers: RouteHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(',') : value
}

function headerCondition (header: RouteHeaderMatch, field: string): Condition {
  const name = header.name.toLowerCase()
  const invert = header.invert === true
  let test: (value: string) => boolean
  if (header.exact !== undefined) { const exact = header.exact; test = (value) => value === exact }
  else if (header.prefix !== undefined) { const prefix = header.prefix; test = (value) => value.startsWith(prefix) }
  else if (header.suffix !== undefined) { const suffix = header.suffix; test = (value) => value.endsWith(suffix) }
  else if (header.regex !== undefined) { const regex = compileFullMatchRegex(header.regex, `${field}.regex`); test = (value) => regex.test(value) }
  else test = () => true
  const presentOnly = header.exact === undefined && header.prefix === undefined && header.suffix === undefined && header.regex === undefined
  return (context) => {
    const value = headerValue(context.request.headers, name)
    if (value === undefined) return invert && presentOnly
    return test(value) !== invert
  }
}

/** The query's parameters, decoded; the first occurrence of a name wins. */
function parseQuery (query: string): Map<string, string> {
  const params = new Map<string, string>()
  if (query === '') return params
  for (const part of query.split('&')) {
    if (part === '') continue
    const equals = part.indexOf('=')
    const rawKey = equals === -1 ? part : part.slice(0, equals)
    const key = rawKey.includes('%') || rawKey.includes('+') ? safeDecode(rawKey.replaceAll('+', ' ')) : rawKey
    if (params.has(key)) continue
    const rawValue = equals === -1 ? '' : part.slice(equals + 1)
    params.set(key, rawValue.includes('%') || rawValue.includes('+') ? safeDecode(rawValue.replaceAll('+', ' ')) : rawValue)
  }
  return params
}

function queryValue (context: MatchContext, name: string): string | undefined {
  if (context.query === '') return undefined
  if (context.params === null) context.params = parseQuery(context.query)
  return context.params.get(name)
}

function safeDecode (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function queryCondition (param: RouteQueryMatch, field: string): Condition {
  const name = param.name
  if (param.exact !== undefined) { const exact = param.exact; return (context) => queryValue(context, name) === exact }
  if (param.regex !== undefined) {
    const regex = compileFullMatchRegex(param.regex, `${field}.regex`)
    return (context) => { const value = queryValue(context, name); return value !== undefined && regex.test(value) }
  }
  return (context) => queryValue(context, name) !== undefined
}

const REGEX_SYNTAX = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}'])

/**
 * The literal text every match of a whole-value `pattern` starts with, so most paths are turned
 * away by a startsWith before the regex runs: the characters before the first regex syntax, less
 * the last one if a quantifier follows it; '' when the pattern has an alternation anywhere.
 */
export function literalPrefix (pattern: string): string {
  if (pattern.includes('|')) return ''
  let end = 0
  while (end < pattern.length && !REGEX_SYNTAX.has(pattern[end]!)) end++
  const next = pattern[end]
  if (next === '?' || next === '*' || next === '{' || (next === '+' && end > 0)) end = Math.max(0, end - 1)
  return pattern.slice(0, end)
}

function compileRoute (route: RouteSnapshot, index: number): CompiledRoute {
  const field = `routes[${index}].match`
  const conditions: Condition[] = []
  const match = route.match
  let gate = ''
  // The prefix itself is checked by the gate; the other path kinds keep a condition of their own.
  if (match.pathExact !== undefined) { const exact = match.pathExact; gate = exact; conditions.push((context) => context.path === exact) }
  else if (match.pathPrefix !== undefined) gate = match.pathPrefix
  else if (match.pathRegex !== undefined) {
    const regex = compileFullMatchRegex(match.pathRegex, `${field}.pathRegex`)
    gate = literalPrefix(match.pathRegex)
    conditions.push((context) => regex.test(context.path))
  }
  const methods = match.methods !== undefined && match.methods.length > 0 ? new Set(match.methods.map((method) => method.toUpperCase())) : null
  for (const [at, header] of (match.headers ?? []).entries()) conditions.push(headerCondition(header, `${field}.headers[${at}]`))
  for (const [at, param] of (match.queryParams ?? []).entries()) conditions.push(queryCondition(param, `${field}.queryParams[${at}]`))
  const rest: Condition | null = conditions.length === 0
    ? null
    : conditions.length === 1
      ? conditions[0]!
      : (context) => {
          for (let at = 0; at < conditions.length; at++) if (!conditions[at]!(context)) return false
          return true
        }
  const matches: Condition = (context) => context.path.startsWith(gate) &&
    (methods === null || methods.has(context.request.method)) && (rest === null || rest(context))
  return { index, route, gate, methods, rest, matches }
}

/** Compiles a route table; throws UnsafeRegexError naming the field when a regex cannot be used. */
export function compileRouter (routes: RouteSnapshot[]): CompiledRouter {
  const compiled = routes.map(compileRoute)
  return {
    routes: compiled,
    match: (request) => {
      const target = request.path
      const mark = target.indexOf('?')
      const context: MatchContext = {
        request,
        path: mark === -1 ? target : target.slice(0, mark),
        query: mark === -1 ? '' : target.slice(mark + 1),
        params: null
      }
      const path = context.path
      const method = request.method
      for (let at = 0; at < compiled.length; at++) {
        const route = compiled[at]!
        // Path gate and methods inline: most routes are turned away without a call.
        if (!path.startsWith(route.gate)) continue
        if (route.methods !== null && !route.methods.has(method)) continue
        if (route.rest === null || route.rest(context)) return route
      }
      return null
    }
  }
}

/** The request target after the route's PrefixRewrite (the query string kept), or as it was. */
export function rewritePath (route: RouteSnapshot, target: string): string {
  const rewrite = route.prefixRewrite
  if (rewrite === undefined) return target
  const matched = route.match.pathPrefix ?? route.match.pathExact
  if (matched === undefined || !target.startsWith(matched)) return target
  return rewrite + target.slice(matched.length)
}

/** Applies a HeaderMutation to node-style headers in place: remove, then set, then add. */
export function mutateHeaders (headers: RouteHeaders, mutation: HeaderMutation | undefined): void {
  if (mutation === undefined) return
  for (const name of mutation.remove ?? []) delete headers[name.toLowerCase()]
  for (const [name, value] of Object.entries(mutation.set ?? {})) headers[name.toLowerCase()] = value
  for (const [name, value] of Object.entries(mutation.add ?? {})) {
    const key = name.toLowerCase()
    const existing = headers[key]
    headers[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]
  }
}
