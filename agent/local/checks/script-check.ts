// Script check: runs Args[0] with Args[1..] directly (child_process.spawn, never a shell, so no
// argument is ever interpreted by one) and reads its exit code.
//
// Status rules (Consul's CheckMonitor, Nagios plugin convention): exit 0 is passing, exit 1 is
// warning, any other exit code, a signal, a failure to start or a timeout is critical. Output is
// stdout and stderr interleaved, capped at 4 KiB (tail kept). On timeout the process is killed
// with SIGKILL, with every process it started, and the output is "Timed out (<timeout>) running check".
// Script checks are refused at registration unless the agent runs with enable-script-checks:
// they run arbitrary commands as the agent's user.

import { spawn } from 'node:child_process'
import { formatDuration } from '../../../api/duration.ts'
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
      const abortedResult = (): CheckResult => {
        const reason = signal.reason as Error
        const message = reason instanceof CheckTimeoutError ? `Timed out (${formatDuration(reason.timeoutMs)}) running check` : reason.message
        return { status: 'critical', output: message }
      }
      if (signal.aborted) { resolve(abortedResult()); return }
      const output = new OutputBuffer()
      // detached: the script leads its own process group, so a timeout kills what it started too
      // (a backgrounded helper would otherwise outlive the check and keep its output pipe open).
      const child = spawn(this.args[0], this.args.slice(1), {
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        windowsHide: true,
      })
      child.stdout.on('data', (chunk: Buffer) => output.write(chunk))
      child.stderr.on('data', (chunk: Buffer) => output.write(chunk))
      let settled = false
      const settle = (result: CheckResult): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        resolve(result)
      }
      const onAbort = (): void => {
        killProcessGroup(child.pid)
        settle(abortedResult())
      }
      signal.addEventListener('abort', onAbort, { once: true })
      child.once('error', (error) => settle({ status: 'critical', output: `failed to run ${this.args[0]}: ${error.message}` }))
      child.once('close', (exitCode, exitSignal) => {
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

function killProcessGroup (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is already gone: the script ended as the timeout fired.
  }
}
