// `tcp` protocol mode: after the connection is authenticated and authorized, bytes are piped
// both ways without looking at them. Either side closing or failing closes the other.

import type { Socket } from 'node:net'

export function splice (a: Socket, b: Socket): void {
  a.pipe(b)
  b.pipe(a)
  const closeBoth = (): void => {
    a.destroy()
    b.destroy()
  }
  a.once('error', closeBoth)
  b.once('error', closeBoth)
  a.once('close', closeBoth)
  b.once('close', closeBoth)
}
