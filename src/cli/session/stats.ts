/**
 * Counters behind the `stats` event: totals since the call began and per-second rates.
 * tick() is called once a second and closes the current one-second window.
 */
export class StatsCounter {
  private framesSent = 0;
  private framesReceived = 0;
  private framesDropped = 0;
  private framesDecoded = 0;
  private audioMsSentTotal = 0;
  private audioMsReceivedTotal = 0;
  private windowSent = 0;
  private windowDropped = 0;
  private windowDecoded = 0;
  private windowStartMs = performance.now();
  private fpsIn = 0;
  private fpsOut = 0;
  private last = { sent: 0, dropped: 0 };

  videoSent(): void { this.framesSent++; this.windowSent++; }
  /** `congestion`: dropped because the socket was backed up (drives sender adaptation). */
  videoDropped(congestion: boolean): void {
    this.framesDropped++;
    if (congestion) this.windowDropped++;
  }
  videoReceived(): void { this.framesReceived++; }
  videoDecoded(): void { this.framesDecoded++; this.windowDecoded++; }
  audioSent(ms: number): void { this.audioMsSentTotal += ms; }
  audioReceived(ms: number): void { this.audioMsReceivedTotal += ms; }

  /** Closes the current window: fps figures are frames over the window's real length. */
  tick(): void {
    const now = performance.now();
    const sec = Math.max(0.001, (now - this.windowStartMs) / 1000);
    this.fpsIn = Math.round((this.windowDecoded / sec) * 10) / 10;
    this.fpsOut = Math.round((this.windowSent / sec) * 10) / 10;
    this.last = { sent: this.windowSent, dropped: this.windowDropped };
    this.windowSent = 0;
    this.windowDropped = 0;
    this.windowDecoded = 0;
    this.windowStartMs = now;
  }

  /** Frames sent and dropped in the last closed window (for sender adaptation). */
  lastSecond(): { sent: number; dropped: number } {
    return this.last;
  }

  snapshot(): {
    videoFramesSent: number; videoFramesReceived: number; videoFramesDropped: number;
    videoFpsIn: number; videoFpsOut: number; audioMsSent: number; audioMsReceived: number;
  } {
    return {
      videoFramesSent: this.framesSent,
      videoFramesReceived: this.framesReceived,
      videoFramesDropped: this.framesDropped,
      videoFpsIn: this.fpsIn,
      videoFpsOut: this.fpsOut,
      audioMsSent: Math.round(this.audioMsSentTotal),
      audioMsReceived: Math.round(this.audioMsReceivedTotal),
    };
  }
}
