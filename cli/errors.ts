// The CLI's error classes, one per condition, each with a stable code documented in
// docs/errors/cli.md. mesh.mjs prints any of them as a single "Error: ..." line and exits 1.

export class CliError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'CliError'
    this.code = code
  }
}

/** A flag, argument or their combination is invalid; nothing was sent to the agent. */
export class UsageError extends CliError {
  constructor (message: string) {
    super('MESH_ERR_CLI_USAGE', message)
    this.name = 'UsageError'
  }
}

/** A file or directory given to the command cannot be read, is not JSON, or has the wrong shape. */
export class InputFileError extends CliError {
  /** `path` "-" is stdin, as the commands accept it. */
  constructor (path: string, problem: string) {
    super('MESH_ERR_CLI_INPUT_FILE', `${path === '-' ? 'stdin' : path}: ${problem}`)
    this.name = 'InputFileError'
  }
}

/** A file the command writes (certificates, keys) cannot be written. */
export class OutputFileError extends CliError {
  constructor (path: string, problem: string) {
    super('MESH_ERR_CLI_WRITE_FAILED', `cannot write ${path}: ${problem}`)
    this.name = 'OutputFileError'
  }
}

/** The thing asked for does not exist on the agent. */
export class NotFoundError extends CliError {
  constructor (message: string) {
    super('MESH_ERR_CLI_NOT_FOUND', message)
    this.name = 'NotFoundError'
  }
}

/** A command whose implementation lives in another folder (agent, proxy) cannot load it. */
export class ModuleMissingError extends CliError {
  constructor (what: string, path: string) {
    super('MESH_ERR_CLI_MODULE_MISSING', `${what} is not available in this installation (${path} is missing)`)
    this.name = 'ModuleMissingError'
  }
}

/** `join` reached the agent but no address given led into a cluster. */
export class JoinFailedError extends CliError {
  constructor (failures: string[]) {
    super('MESH_ERR_CLI_JOIN_FAILED', `could not join through any address: ${failures.join('; ')}`)
    this.name = 'JoinFailedError'
  }
}

/** Collapses any multi-line message (an agent's body text, a stack-less cause) to one line. */
export function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
