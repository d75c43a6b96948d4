// The HTTP client for the agent's Consul-compatible API, shared by every `mesh` client command and
// the standalone proxy: JSON in and out, non-2xx answers become AgentResponseError carrying the
// agent's body text, and transport failures become one readable AgentUnreachableError. Uses the
// global fetch, so a caller loads nothing beyond Node itself. The error codes keep the MESH_ERR_CLI_
// prefix they were introduced with (docs/errors/agent-client.md), so scripts matching them still do.

/**
 * Generous, because `leave` waits for the graceful leave to spread; short enough that a hung
 * agent does not hang a CI job forever. Blocking queries pass their own, longer than their wait.
 */
export const REQUEST_TIMEOUT_MS = 60_000

export type Query = Record<string, string | boolean | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Aborting it rejects with the abort reason, not AgentUnreachableError. */
  signal?: AbortSignal
  timeoutMs?: number
}

/** A decoded answer with the agent's modify index (`X-Consul-Index`, 0 when absent), for blocking queries. */
export interface AgentAnswer<T> {
  body: T
  index: number
}

/** No HTTP answer at all: refused, unknown host, timeout, reset. */
export class AgentUnreachableError extends Error {
  readonly code = 'MESH_ERR_CLI_AGENT_UNREACHABLE'
  constructor (httpAddr: string, reason: string) {
    super(`cannot reach the agent at ${httpAddr}: ${reason}`)
    this.name = 'AgentUnreachableError'
  }
}

/** The agent answered with a non-2xx status; the message carries its body text. */
export class AgentResponseError extends Error {
  readonly code = 'MESH_ERR_CLI_AGENT_STATUS'
  readonly statusCode: number
  readonly body: string
  constructor (method: string, path: string, statusCode: number, body: string) {
    const detail = body.trim() === '' ? '' : `: ${body.trim()}`
    super(`${method} ${path} failed with ${statusCode}${detail}`)
    this.name = 'AgentResponseError'
    this.statusCode = statusCode
    this.body = body
  }
}

/** The agent answered 2xx with something that is not the JSON the caller expects. */
export class BadResponseError extends Error {
  readonly code = 'MESH_ERR_CLI_BAD_RESPONSE'
  constructor (method: string, path: string, problem: string) {
    super(`${method} ${path} returned an unexpected body: ${problem}`)
    this.name = 'BadResponseError'
  }
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

function transportReason (error: unknown, timeoutMs: number): string {
  const failure = error as { name?: string, cause?: { code?: string, message?: string }, message?: string }
  if (failure.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
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
    return (await this.exchange<T>(method, path, options)).body
  }

  /** Like request, with the answer's `X-Consul-Index`. */
  async exchange<T> (method: string, path: string, options: RequestOptions = {}): Promise<AgentAnswer<T>> {
    const url = new URL(this.httpAddr + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      // Consul reads boolean flags by presence (`?passing`); send "1" as its Go client does, so an
      // agent that parses the value as a boolean agrees too.
      if (value === true) url.searchParams.set(name, '1')
      else if (typeof value === 'string') url.searchParams.set(name, value)
    }
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
    const timeout = AbortSignal.timeout(timeoutMs)
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      })
      text = await response.text()
    } catch (error) {
      if (options.signal?.aborted === true) throw options.signal.reason
      throw new AgentUnreachableError(this.httpAddr, transportReason(error, timeoutMs))
    }
    const shownPath = url.pathname + url.search
    if (response.status < 200 || response.status > 299) {
      throw new AgentResponseError(method, shownPath, response.status, text)
    }
    const index = Number(response.headers.get('x-consul-index') ?? 0)
    if (text.trim() === '') return { body: undefined as T, index }
    try {
      return { body: JSON.parse(text) as T, index }
    } catch {
      throw new BadResponseError(method, shownPath, `not JSON (${text.slice(0, 80)})`)
    }
  }
}
