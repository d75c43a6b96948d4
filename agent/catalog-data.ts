// The catalog's part of the data dir (`<data-dir>/catalog`, LevelDB): open it, refuse a damaged
// one with the fix, and `--recover` from one (docs/reliability.md, "Data directory").
//
// Damage found at open (catalog/level-store.ts decides: LevelDB refuses to open, a record does not
// read back, acknowledged writes are missing) stops the start with a DataDirError naming the data
// dir, the file, what is wrong and the fix. With `--recover`, the damaged directory is moved aside
// (kept, `catalog.damaged-<timestamp>`), a copy is repaired by LevelDB and opened in recovering
// mode, and a WARN says what was kept and what the damage was. Peers hold this node's records too:
// while recovering, the catalog takes its own records back from them (catalog/catalog.ts), and
// `RecoveryTracker` ends recovery after a sync that brought nothing more back, with a WARN naming
// how many records of each kind were lost and restored, then re-versions every own record so it
// wins everywhere.

import { existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { Catalog } from '../catalog/catalog.ts'
import { StoreDamagedError } from '../catalog/errors.ts'
import { LevelCatalogStore } from '../catalog/level-store.ts'
import type { NodeRecord } from '../api/catalog-types.ts'
import { DataDirError } from './identity.ts'

export interface CatalogDataInit {
  dataDir: string
  /** `--recover`: start from what is readable in a damaged catalog instead of refusing. */
  recover: boolean
  /** Sync writes before acknowledging them (false: --unsafe-no-fsync). */
  sync: boolean
  self: NodeRecord
  log: Logger
}

/** The catalog directory inside a data dir. */
export const catalogPath = (dataDir: string): string => join(dataDir, 'catalog')

/** Opens the agent's catalog; see the header for what happens to a damaged one. */
export async function openAgentCatalog (init: CatalogDataInit): Promise<Catalog> {
  const { dataDir, self, log } = init
  const path = catalogPath(dataDir)
  let damage: StoreDamagedError
  try {
    const catalog = await Catalog.open({ path, self, log, sync: init.sync })
    if (init.recover) log.info({ component: 'mesh:agent', path }, '--recover: the catalog is intact, nothing to recover')
    return catalog
  } catch (error) {
    if (!(error instanceof StoreDamagedError)) throw error
    if (!init.recover) throw damagedDataDir(dataDir, error)
    damage = error
  }
  const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  renameSync(path, aside)
  const agentLog = log.child({ component: 'mesh:agent' })
  let catalog: Catalog
  let salvaged = true
  try {
    await LevelCatalogStore.salvage(aside, path)
    catalog = await Catalog.open({ path, self, log, sync: init.sync, recovering: true })
  } catch (error) {
    // Nothing readable: start empty; everything of this node comes back from peers.
    salvaged = false
    agentLog.warn({ damaged: aside, err: (error as Error).message }, '--recover: nothing of the damaged catalog could be read back; starting from an empty one')
    if (existsSync(path)) rmSync(path, { recursive: true, force: true })
    catalog = await Catalog.open({ path, self, log, sync: init.sync, recovering: true })
  }
  agentLog.warn({
    dataDir,
    damaged: aside,
    file: damage.file,
    damage: damage.reason,
    salvaged,
    kept: { services: catalog.localServices().length, checks: catalog.localChecks().length, nodes: catalog.nodes().length },
  }, `--recover: the catalog was damaged (${damage.file ?? 'catalog'}: ${damage.reason}); the damaged directory is kept at ${aside}; started from what was readable, and this node's lost records are restored from peers as they answer`)
  return catalog
}

function damagedDataDir (dataDir: string, damage: StoreDamagedError): DataDirError {
  const what = damage.file === undefined ? damage.reason : `${damage.file}: ${damage.reason}`
  return new DataDirError(
    `data dir ${dataDir} is damaged (MESH_ERR_AGENT_DATA_DIR): catalog ${damage.path}: ${what}. ` +
    'Fix: run `mesh agent start --recover` with the same flags (keeps the damaged catalog aside, starts from what is readable and restores this node\'s records from peers), ' +
    `or move ${dataDir} away to start this node empty`
  )
}

/**
 * Ends a recovery once a sync brought none of this node's records back any more: logs what was
 * restored, by kind, and re-versions every own record above all copies, so it wins everywhere.
 */
export class RecoveryTracker {
  private readonly catalog: Catalog
  private readonly log: Logger
  private lastAdopted = -1
  private finishing = false

  constructor (catalog: Catalog, log: Logger) {
    this.catalog = catalog
    this.log = log
  }

  /** Call after each successful sync with a peer. */
  async synced (peer: string): Promise<void> {
    if (!this.catalog.recovering || this.finishing) return
    const adopted = this.catalog.adopted
    const total = adopted.node + adopted.service + adopted.check
    if (total !== this.lastAdopted) {
      this.lastAdopted = total
      this.log.info({ peer, restored: adopted }, 'recovering: took this node\'s records back from a peer')
      return
    }
    this.finishing = true
    this.catalog.finishRecovery()
    this.log.warn({ peer, lost: adopted },
      `recovered: the damaged data dir had lost ${adopted.service} services, ${adopted.check} checks and ${adopted.node} node records of this node that peers still held; all are restored`)
    await this.catalog.republishLocal()
  }
}
