// The contract between `mesh proxy` (cli/commands/proxy.ts) and the standalone sidecar
// (proxy/standalone.ts): plain data, so the proxy can import the type without loading commander.

import type { AgentLogLevel } from './agent-options.ts'

export interface StandaloneProxyOptions {
  /** ID of the registered service whose sidecar this process is. */
  sidecarFor: string
  /** The local agent's HTTP API base URL, already resolved from --http-addr / MESH_HTTP_ADDR. */
  httpAddr: string
  /** Absent when not given; the proxy picks its own default. */
  logLevel?: AgentLogLevel
}
