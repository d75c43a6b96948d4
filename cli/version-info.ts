// The CLI's own version, from package.json, so `mesh version` and the agent's build tag agree.

import packageJson from '../package.json' with { type: 'json' }

export const MESH_VERSION: string = packageJson.version
