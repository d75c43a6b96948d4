// `mesh proxy --sidecar-for ID`: runs a service's sidecar proxy as its own process, configured
// from the local agent's HTTP API. The data plane lives in proxy/standalone.ts and is loaded only
// here, after the flags are checked.

import { Command, Option } from 'commander'
import { resolveHttpAddr } from '../addresses.ts'
import { LOG_LEVELS } from '../../api/agent-options.ts'
import type { AgentLogLevel } from '../../api/agent-options.ts'
import { UsageError } from '../errors.ts'
import { importEntryPoint } from '../lazy-import.ts'
import { argParser, clientCommand, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'
import type { StandaloneProxyOptions } from '../../api/proxy-options.ts'

interface ProxyFlags extends ClientOptions {
  sidecarFor: string
  logLevel?: AgentLogLevel
}

interface StandaloneProxyModule {
  runStandaloneProxy (options: StandaloneProxyOptions): Promise<void>
}

export function proxyCommand (): Command {
  return clientCommand('proxy')
    .description('Run the sidecar proxy of a registered service as a separate process')
    .requiredOption('--sidecar-for <id>', 'ID of the service this proxy fronts', argParser(text => {
      if (text.trim() === '') throw new UsageError('--sidecar-for must name a service ID')
      return text
    }))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
    .addHelpText('after', examples('mesh proxy --sidecar-for web', 'mesh proxy --sidecar-for web-1 --http-addr 127.0.0.1:8500 --log-level debug'))
    .action(async (flags: ProxyFlags) => {
      const options: StandaloneProxyOptions = {
        sidecarFor: flags.sidecarFor,
        httpAddr: resolveHttpAddr(flags.httpAddr, process.env.MESH_HTTP_ADDR),
      }
      if (flags.logLevel !== undefined) options.logLevel = flags.logLevel
      const proxy = await importEntryPoint<StandaloneProxyModule>(new URL('../../proxy/standalone.ts', import.meta.url), 'the standalone proxy')
      await proxy.runStandaloneProxy(options)
    })
}
