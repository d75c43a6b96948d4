// Small formatting helpers shared by the table-printing commands.

import { isIP } from 'node:net'

/** "10.0.0.1:8080", "[::1]:8080"; just the host when there is no port. */
export function joinHostPort (host: string, port: number | undefined): string {
  const shownHost = isIP(host) === 6 ? `[${host}]` : host
  return port === undefined || port === 0 ? shownHost : `${shownHost}:${port}`
}

export function formatTags (tags: string[] | null | undefined): string {
  return (tags ?? []).join(',')
}
