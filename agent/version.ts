// The agent's version, from package.json, reported in /v1/agent/self, member tags and the banner.
import { readFileSync } from 'node:fs'

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
