/** Why a `request()` was rejected. */
export type RequestFailure = 'server' | 'timeout' | 'closed' | 'dropped';

/** The rejection of `request()`. */
export class RequestError extends Error {
  override readonly name = 'RequestError';

  constructor(
    message: string,
    /** The event that was requested. */
    readonly event: string,
    /**
     * `server`: the handler raised (the message is the server's); `timeout`: no answer in time;
     * `closed`: the connection closed before the answer came; `dropped`: the request was pushed
     * out of the full queue before it could be sent.
     */
    readonly reason: RequestFailure,
  ) {
    super(message);
  }
}
