// How commands print: aligned plain-text tables for people, indented JSON for scripts, and the
// shared `--format` choice. Everything goes to stdout; errors are mesh.mjs's business.

export type OutputFormat = 'table' | 'json'

export function write (text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

export function writeJson (value: unknown): void {
  write(JSON.stringify(value, null, 2))
}

/** Left-aligned columns two spaces apart, like Consul's CLI; no trailing spaces. */
export function renderTable (headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map(row => (row[column] ?? '').length)))
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (cell ?? '').padEnd(widths[column])).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** Key/value lines for one object ("Source:       web"), used by `get`-style commands. */
export function renderFields (fields: Array<[string, string]>): string {
  const width = Math.max(...fields.map(([name]) => name.length)) + 1
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width)} ${value}`.trimEnd()).join('\n') + '\n'
}
