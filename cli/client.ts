// The small HTTP client every client command uses to talk to the agent's Consul-compatible API:
// JSON in and out, non-2xx answers become AgentResponseError carrying the agent's body text, and
// transport failures become one readable AgentUnreachableError. Uses the global fetch, so a client
// command loads nothing beyond Node itself.

import { AgentResponseError, AgentUnreachableError, BadResponseError } from './errors.ts'

/**
 * Generous, because `leave` waits for the graceful leave to spread; short enough that a hung
 * agent does not hang a CI job forever.
 */
export const REQUEST_TIMEOUT_MS = 60_000

export type Query = Record<string, string | boolean | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
}

const TRANSPORT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
}

function transportReason (error: unknown): string {
  const failure = error as { name?: string, cause?: { code?: string, message?: string }, message?: string }
  if (failure.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
  const code = failure.cause?.code
  if (code !== undefined && TRANSPORT_REASONS[code] !== undefined) return TRANSPORT_REASONS[code]
  return failure.cause?.message ?? failure.message ?? String(error)
}

export class AgentClient {
  readonly httpAddr: string

  constructor (httpAddr: string) {
    this.httpAddr = httpAddr
  }

  /** GET that treats 404 as "absent" (null) instead of an error, for existence checks. */
  async getOptional<T> (path: string, query?: Query): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, { query })
    } catch (error) {
      if (error instanceof AgentResponseError && error.statusCode === 404) return null
      throw error
    }
  }

  get<T> (path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query })
  }

  put<T> (path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, query })
  }

  post<T> (path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query })
  }

  delete<T> (path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { query })
  }

  /** Returns the decoded JSON body, or undefined for an empty body. */
  async request<T> (method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.httpAddr + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      // Consul reads boolean flags by presence (`?passing`); send "1" as its Go client does, so an
      // agent that parses the value as a boolean agrees too.
      if (value === true) url.searchParams.set(name, '1')
      else if (typeof value === 'string') url.searchParams.set(name, value)
    }
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
      text = await response.text()
    } catch (error) {
      throw new AgentUnreachableError(this.httpAddr, transportReason(error))
    }
    const shownPath = url.pathname + url.search
    if (response.status < 200 || response.status > 299) {
      throw new AgentResponseError(method, shownPath, response.status, text)
    }
    if (text.trim() === '') return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new BadResponseError(method, shownPath, `not JSON (${text.slice(0, 80)})`)
    }
  }
}
