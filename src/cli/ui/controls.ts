/**
 * What the TUI may ask of a call session. The session object implements this next to
 * `EventEmitter<SessionEvents>`; the UI never touches a socket or a process itself.
 */
export interface CallControls {
  /** The session code both sides typed (shown large while waiting, and in the status bar). */
  readonly session: string;
  /** Our microphone is muted (signalled to the peer). */
  readonly muted: boolean;
  /** Our camera is off (signalled to the peer). */
  readonly cameraOff: boolean;
  /** We have no camera / no microphone at all (none, missing or lost), as opposed to turned off. */
  readonly noCamera?: boolean;
  readonly noMic?: boolean;
  /** The media stream is end-to-end encrypted. */
  readonly encrypted: boolean;
  /** Say BYE and end the call; the session then emits `ended` with reason `hangup`. */
  hangup(): void;
  /** Mute or unmute our microphone and tell the peer. */
  setMuted(muted: boolean): void;
  /** Turn our camera off or on and tell the peer. */
  setCameraOff(off: boolean): void;
  /**
   * Ask the peer for a keyframe (after a resize or a render-mode change). The peer's ffmpeg
   * cannot make one on demand: the peer holds back H.264 delta frames until its next periodic
   * keyframe (at most a GOP, one second, away), so the decoder starts clean there.
   */
  requestKeyframe(): void;
  /**
   * The pixel size the peer video decoder should output from now on. Called when the layout
   * or the render mode changes; `video-frame` events of another size are dropped meanwhile.
   */
  setVideoSize(width: number, height: number): void;
  /**
   * Start or stop decoding our own camera for the self-view (`self-frame` events). Optional:
   * a session without a camera has nothing to show.
   */
  setSelfView?(on: boolean): void;
}
