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

export interface CompiledRoute {
  /** Position in the router's Routes (the default route comes last). */
  index: number
  route: RouteSnapshot
  matches: (request: RouteRequest, path: string, query: string) => boolean
}

export interface CompiledRouter {
  routes: CompiledRoute[]
  /** The first route whose conditions hold, or null. */
  match: (request: RouteRequest) => CompiledRoute | null
}

type Condition = (request: RouteRequest, path: string, query: string) => boolean

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
  return (request) => {
    const value = headerValue(request.headers, name)
    if (value === undefined) return invert && presentOnly
    return test(value) !== invert
  }
}

/** The value of query parameter `name` in `query` (no leading '?'), decoded; undefined when absent. */
function queryValue (query: string, name: string): string | undefined {
  if (query === '') return undefined
  let start = 0
  while (start <= query.length) {
    let end = query.indexOf('&', start)
    if (end === -1) end = query.length
    const equals = query.indexOf('=', start)
    const keyEnd = equals === -1 || equals > end ? end : equals
    const key = query.slice(start, keyEnd)
    if (key === name || (key.includes('%') && safeDecode(key) === name)) {
      return keyEnd === end ? '' : safeDecode(query.slice(keyEnd + 1, end).replaceAll('+', ' '))
    }
    start = end + 1
  }
  return undefined
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
  if (param.exact !== undefined) { const exact = param.exact; return (_request, _path, query) => queryValue(query, name) === exact }
  if (param.regex !== undefined) {
    const regex = compileFullMatchRegex(param.regex, `${field}.regex`)
    return (_request, _path, query) => { const value = queryValue(query, name); return value !== undefined && regex.test(value) }
  }
  return (_request, _path, query) => queryValue(query, name) !== undefined
}

function compileRoute (route: RouteSnapshot, index: number): CompiledRoute {
  const field = `routes[${index}].match`
  const conditions: Condition[] = []
  const match = route.match
  if (match.pathExact !== undefined) { const exact = match.pathExact; conditions.push((_request, path) => path === exact) }
  else if (match.pathPrefix !== undefined) { const prefix = match.pathPrefix; conditions.push((_request, path) => path.startsWith(prefix)) }
  else if (match.pathRegex !== undefined) { const regex = compileFullMatchRegex(match.pathRegex, `${field}.pathRegex`); conditions.push((_request, path) => regex.test(path)) }
  if (match.methods !== undefined && match.methods.length > 0) {
    const methods = new Set(match.methods.map((method) => method.toUpperCase()))
    conditions.push((request) => methods.has(request.method))
  }
  for (const [at, header] of (match.headers ?? []).entries()) conditions.push(headerCondition(header, `${field}.headers[${at}]`))
  for (const [at, param] of (match.queryParams ?? []).entries()) conditions.push(queryCondition(param, `${field}.queryParams[${at}]`))
  const matches: Condition = conditions.length === 0
    ? () => true
    : conditions.length === 1
      ? conditions[0]!
      : (request, path, query) => {
          for (let at = 0; at < conditions.length; at++) if (!conditions[at]!(request, path, query)) return false
          return true
        }
  return { index, route, matches }
}

/** Compiles a route table; throws UnsafeRegexError naming the field when a regex cannot be used. */
export function compileRouter (routes: RouteSnapshot[]): CompiledRouter {
  const compiled = routes.map(compileRoute)
  return {
    routes: compiled,
    match: (request) => {
      const target = request.path
      const mark = target.indexOf('?')
      const path = mark === -1 ? target : target.slice(0, mark)
      const query = mark === -1 ? '' : target.slice(mark + 1)
      for (let at = 0; at < compiled.length; at++) {
        const route = compiled[at]!
        if (route.matches(request, path, query)) return route
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
