// HTTP errors as Consul answers them: a status code and a plain-text body naming the problem.
// Route code throws these; the server's error handler turns them (and schema failures) into replies.

export class HttpError extends Error {
  readonly statusCode: number
  readonly code: string
  constructor (statusCode: number, code: string, message: string) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
  }
}

export const badRequest = (message: string): HttpError =>
  new HttpError(400, 'MESH_ERR_HTTP_BAD_REQUEST', message)

export const notFound = (message: string): HttpError =>
  new HttpError(404, 'MESH_ERR_HTTP_NOT_FOUND', message)

export const forbidden = (message: string): HttpError =>
  new HttpError(403, 'MESH_ERR_HTTP_FORBIDDEN', message)

export const conflict = (message: string): HttpError =>
  new HttpError(409, 'MESH_ERR_HTTP_CONFLICT', message)

export const unavailable = (message: string): HttpError =>
  new HttpError(503, 'MESH_ERR_HTTP_UNAVAILABLE', message)
