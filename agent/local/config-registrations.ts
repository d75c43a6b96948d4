// How the agent's config-file services and checks are written, at start and on every reload: the
// registration path the HTTP API takes (register.ts), with a refusal turned into a ConfigError that
// names the definition ("services[2]: Missing service name"), as a bad config file is reported.

import { ConfigError } from '../config.ts'
import type { LocalRegistrations } from '../reload-plan.ts'
import type { LocalCatalog } from './local-catalog.ts'
import { deregisterLocalCheck, deregisterLocalService, registerCheckPayload, registerServicePayload } from './register.ts'
import type { LocalRegistrationDeps } from './register.ts'

export interface ConfigRegistrations {
  /** Registers (or re-registers) a service definition; `label` names it in errors ("services[2]"). */
  registerService (definition: Record<string, unknown>, label: string): Promise<void>
  registerCheck (definition: Record<string, unknown>, label: string): Promise<void>
  /** Removes a service with its checks and sidecar; false when it is not registered. */
  deregisterService (id: string): Promise<boolean>
  deregisterCheck (id: string): Promise<boolean>
}

async function labelled (label: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write()
  } catch (error) {
    throw new ConfigError(`${label}: ${(error as Error).message}`)
  }
}

export function configRegistrations (deps: LocalRegistrationDeps): ConfigRegistrations {
  return {
    registerService: async (definition, label) => await labelled(label, async () => await registerServicePayload(deps, definition)),
    registerCheck: async (definition, label) => await labelled(label, async () => await registerCheckPayload(deps, definition)),
    deregisterService: async (id) => await deregisterLocalService(deps, id),
    deregisterCheck: async (id) => await deregisterLocalCheck(deps, id),
  }
}

/** What is registered locally now, from any source: what a reload plan reads. */
export function localRegistrations (catalog: LocalCatalog): LocalRegistrations {
  return { services: catalog.localServices(), checkIds: catalog.localChecks().map(check => check.CheckID) }
}
