/** A frame waiting for the connection to open. */
export interface OutgoingFrame {
  event: string;
  text: string;
  /** The request id when the frame asks for an ack. */
  id?: number;
}

/**
 * Frames emitted while the socket is not open, sent in order once it is. Bounded, so a page
 * left offline does not grow without limit: when full, the oldest frame makes room.
 */
export class Outbox {
  private frames: OutgoingFrame[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.frames.length;
  }

  /** Queues the frame; returns the frame dropped to make room, if any. */
  push(frame: OutgoingFrame): OutgoingFrame | undefined {
    if (this.limit <= 0) {
      return frame;
    }
    this.frames.push(frame);
    return this.frames.length > this.limit ? this.frames.shift() : undefined;
  }

  /** The oldest frame, removed from the queue. */
  shift(): OutgoingFrame | undefined {
    return this.frames.shift();
  }

  clear(): OutgoingFrame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}
