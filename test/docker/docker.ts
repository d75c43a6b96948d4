// What the container tests need from the machine: a reachable Docker daemon and compose, a base
// image built without a registry (a debootstrapped Debian bookworm plus the project's pinned
// Node), and the mesh image built from the Dockerfile with no network at all. The base image is
// kept between runs as a cache (its tag names the Node version); everything else a test makes,
// it removes.

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export const REPO_ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '')

export interface RunResult { code: number | null, stdout: string, stderr: string }

/** Runs a command to completion, capturing its output; never throws. */
export async function run (command: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<RunResult> {
  return await new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.once('error', (error) => resolve({ code: null, stdout, stderr: stderr + error.message }))
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Like run, but a non-zero exit throws with the command's output. */
export async function runOk (command: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<string> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** A bash pipeline; values reach it through the environment, never through the script text. */
export async function pipeline (script: string, env: Record<string, string>): Promise<string> {
  return await runOk('bash', ['-euo', 'pipefail', '-c', script], { env })
}

/** Why containers cannot be tested here, or undefined when the daemon answers. */
export async function dockerUnavailable (): Promise<string | undefined> {
  const result = await run('docker', ['version', '--format', '{{.Server.Version}}'])
  if (result.code === null) return 'the docker command is not installed'
  if (result.code !== 0) return `no Docker daemon is reachable: ${result.stderr.trim().split('\n')[0]}`
  return undefined
}

/** `docker compose` (v2 plugin) when present, else `docker-compose` (v1), else undefined. */
export async function composeCommand (): Promise<string[] | undefined> {
  if ((await run('docker', ['compose', 'version'])).code === 0) return ['docker', 'compose']
  if ((await run('docker-compose', ['version'])).code === 0) return ['docker-compose']
  return undefined
}

/** The Node binary package.json pins (devDependency `node`), the one the base image gets. */
export function pinnedNode (): { path: string, version: string } {
  const packageJson = createRequire(import.meta.url).resolve('node/package.json')
  const path = join(dirname(packageJson), 'bin', 'node')
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version
  return { path, version }
}

export async function imageExists (tag: string): Promise<boolean> {
  return (await run('docker', ['image', 'inspect', tag])).code === 0
}

/**
 * A bookworm base image with the pinned Node as /usr/local/bin/node, made without a registry:
 * debootstrap (minbase) from a Debian mirror into a temp dir, then `docker import`. Reused when
 * its tag exists. Answers the tag, or a reason why it cannot be made here.
 */
export async function ensureBaseImage (log: (line: string) => void): Promise<{ tag: string } | { unavailable: string }> {
  const node = pinnedNode()
  const tag = `mesh-test-base:bookworm-node${node.version}`
  if (await imageExists(tag)) {
    log(`base image ${tag} is cached (docker rmi it to rebuild)`)
    return { tag }
  }
  if (process.getuid?.() !== 0) return { unavailable: 'building the base image needs root (debootstrap)' }
  if ((await run('debootstrap', ['--version'])).code === null) return { unavailable: 'debootstrap is not installed' }
  const mirror = process.env.MESH_TEST_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian'
  const dir = mkdtempSync(join(tmpdir(), 'mesh-rootfs-'))
  try {
    const rootfs = join(dir, 'rootfs')
    log(`debootstrap bookworm from ${mirror}`)
    await runOk('debootstrap', ['--variant=minbase', 'bookworm', rootfs, mirror])
    await pipeline(`
      rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
      install -m 0755 "$NODE" "$ROOTFS/usr/local/bin/node"
      tar -C "$ROOTFS" -c . | docker import --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" - "$TAG" >/dev/null
    `, { ROOTFS: rootfs, NODE: node.path, TAG: tag })
    log(`imported ${tag}`)
    return { tag }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The production dependencies as `npm ci --omit=dev` installs them, taken from the project's
 * own node_modules: every package-lock.json entry not marked dev (nested ones ride along with
 * their parent directory), in a tar with root ownership. This is the node_modules.tar the
 * Dockerfile unpacks instead of running npm ci.
 */
export async function writeProductionModulesTar (file: string): Promise<void> {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean, link?: boolean }> }
  const paths = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && entry.link !== true)
    .map(([path]) => path)
    .filter((path) => existsSync(join(REPO_ROOT, path)))
  const wanted = new Set(paths)
  const outermost = paths.filter((path) => {
    const parts = path.split('/node_modules/')
    return !parts.slice(1).some((_, index) => wanted.has(parts.slice(0, index + 1).join('/node_modules/')))
  }).sort()
  if (!outermost.includes('node_modules/fastify')) throw new Error('node_modules has no fastify: run npm ci first')
  const list = `${file}.list`
  writeFileSync(list, outermost.join('\n') + '\n')
  try {
    await runOk('tar', ['-cf', file, '--owner=0', '--group=0', '--numeric-owner', '-C', REPO_ROOT, '-T', list])
  } finally {
    rmSync(list, { force: true })
  }
}

/**
 * Builds the Dockerfile with `--network none`: the context is the checkout's files (tracked and
 * untracked but not ignored, as they are now) plus node_modules.tar, streamed to `docker build -`.
 */
export async function buildMeshImage (tag: string, baseTag: string, workDir: string): Promise<string> {
  await writeProductionModulesTar(join(workDir, 'node_modules.tar'))
  return await pipeline(`
    cd "$REPO"
    git ls-files -z --cached --others --exclude-standard \\
      | tar -c --null --ignore-failed-read -T - -C "$WORK" node_modules.tar \\
      | docker build --force-rm --network none --build-arg BASE="$BASE" -t "$TAG" - 2>&1
  `, { REPO: REPO_ROOT, WORK: workDir, BASE: baseTag, TAG: tag })
}
