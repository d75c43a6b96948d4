// The wire format of grpc.health.v1.Health/Check, by hand: the request and response are one-field
// protobuf messages, too small to justify a protobuf or gRPC dependency.
//
//   message HealthCheckRequest  { string service = 1; }                 // tag 0x0a, length, UTF-8
//   message HealthCheckResponse { ServingStatus status = 1; }           // tag 0x08, varint
//
// Each message travels in a gRPC length-prefixed frame: 1 byte compressed flag (0 here), 4 bytes
// big-endian length, then the message.

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check'

export const SERVING_STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const
export const SERVING = 1

/** Largest response accepted: a health response is a few bytes; anything bigger is not one. */
export const MAX_RESPONSE_BYTES = 64 * 1024

function encodeVarint (value: number): number[] {
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return bytes
}

function readVarint (buffer: Buffer, start: number): { value: number, next: number } {
  let value = 0
  let multiplier = 1
  for (let position = start; position < buffer.length && position < start + 10; position++) {
    const byte = buffer[position]
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return { value, next: position + 1 }
    multiplier *= 128
  }
  throw new Error('truncated varint')
}

export function frame (message: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.writeUInt32BE(message.length, 1)
  return Buffer.concat([header, message])
}

export function encodeHealthCheckRequest (service: string): Buffer {
  if (service === '') return frame(Buffer.alloc(0))
  const name = Buffer.from(service, 'utf8')
  return frame(Buffer.concat([Buffer.from([0x0a, ...encodeVarint(name.length)]), name]))
}

/** Encodes a response; used by tests' health servers and kept beside its decoder so both agree. */
export function encodeHealthCheckResponse (status: number): Buffer {
  return frame(status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, ...encodeVarint(status)]))
}

/** Reads the first frame of a response body and returns its status (0 when the field is absent). */
export function decodeHealthCheckResponse (body: Buffer): number {
  if (body.length < 5) throw new Error('response has no complete gRPC frame')
  if (body[0] !== 0) throw new Error('compressed gRPC responses are not supported')
  const length = body.readUInt32BE(1)
  if (body.length < 5 + length) throw new Error('truncated gRPC frame')
  const message = body.subarray(5, 5 + length)
  let status = 0
  let position = 0
  while (position < message.length) {
    const key = readVarint(message, position)
    position = key.next
    const field = Math.floor(key.value / 8)
    const wireType = key.value & 7
    if (wireType === 0) {
      const value = readVarint(message, position)
      position = value.next
      if (field === 1) status = value.value
    } else if (wireType === 2) {
      const length = readVarint(message, position)
      position = length.next + length.value
    } else if (wireType === 1) {
      position += 8
    } else if (wireType === 5) {
      position += 4
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType}`)
    }
    if (position > message.length) throw new Error('truncated protobuf field')
  }
  return status
}

export function servingStatusName (status: number): string {
  return SERVING_STATUS_NAMES[status] ?? `UNKNOWN_STATUS_${status}`
}
