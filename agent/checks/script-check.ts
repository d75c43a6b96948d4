// Script check: runs Args[0] with Args[1..] directly (child_process.spawn, never a shell, so no
// argument is ever interpreted by one) and reads its exit code.
//
// Status rules (Consul's CheckMonitor, Nagios plugin convention): exit 0 is passing, exit 1 is
// warning, any other exit code, a signal, a failure to start or a timeout is critical. Output is
// stdout and stderr interleaved, capped at 4 KiB (tail kept). On timeout the process is killed
// with SIGKILL and the output is "Timed out (<timeout>) running check".
// Script checks are refused at registration unless the agent runs with enable-script-checks:
// they run arbitrary commands as the agent's user.

import { spawn } from 'node:child_process'
import { formatDuration } from '../duration.ts'
import { CheckTimeoutError } from './errors.ts'
import { OutputBuffer } from './output.ts'
import type { CheckProbe, CheckResult, CheckStatus } from './types.ts'

export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000

export function statusForExitCode (exitCode: number | null): CheckStatus {
  if (exitCode === 0) return 'passing'
  if (exitCode === 1) return 'warning'
  return 'critical'
}

export class ScriptProbe implements CheckProbe {
  readonly args: string[]

  constructor (args: string[]) {
    if (args.length === 0) throw new Error('script check needs at least one argument')
    this.args = args
  }

  check (signal: AbortSignal): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      const output = new OutputBuffer()
      const child = spawn(this.args[0], this.args.slice(1), {
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        signal,
        killSignal: 'SIGKILL',
        windowsHide: true,
      })
      child.stdout.on('data', (chunk: Buffer) => output.write(chunk))
      child.stderr.on('data', (chunk: Buffer) => output.write(chunk))
      let settled = false
      const settle = (result: CheckResult): void => {
        if (settled) return
        settled = true
        resolve(result)
      }
      child.once('error', (error) => {
        if (signal.aborted) {
          const reason = signal.reason as Error
          const message = reason instanceof CheckTimeoutError
            ? `Timed out (${formatDuration(reason.timeoutMs)}) running check`
            : reason.message
          settle({ status: 'critical', output: message })
          return
        }
        settle({ status: 'critical', output: `failed to run ${this.args[0]}: ${error.message}` })
      })
      child.once('close', (exitCode, exitSignal) => {
        if (signal.aborted) return
        const text = output.toString()
        if (exitSignal !== null) {
          settle({ status: 'critical', output: `${text}${text === '' ? '' : '\n'}killed by ${exitSignal}` })
          return
        }
        settle({ status: statusForExitCode(exitCode), output: text })
      })
    })
  }
}
