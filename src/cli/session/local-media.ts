/**
 * What we have and what we send of it, as our STATE message tells the peer: muted and camera
 * off are switches; no camera and no mic are facts (`--video-in none`, or a device that is
 * missing or was lost), and a device once gone stays gone for the call.
 */
import type { CallOptions } from './call-options.js';
import type { PeerState } from './events.js';

/** Warnings that say we have no camera (any more). */
export const NO_CAMERA_WARNINGS: ReadonlySet<string> = new Set(['W_NO_CAMERA', 'W_CAMERA_LOST']);
/** Warnings that say we have no microphone (any more). */
export const NO_MIC_WARNINGS: ReadonlySet<string> = new Set(['W_NO_MIC', 'W_MIC_LOST']);

export class LocalMedia {
  muted = false;
  cameraOff = false;
  /** We have no camera at all: not the same as turned off. */
  noCamera: boolean;
  /** We have no microphone at all. */
  noMic: boolean;

  constructor(opts: Pick<CallOptions, 'videoIn' | 'audioIn'>) {
    this.noCamera = opts.videoIn.kind === 'none';
    this.noMic = opts.audioIn.kind === 'none';
  }

  /** The fields of our STATE message. */
  state(): Required<PeerState> {
    // No camera is sent as camera off too: a peer that does not know the no-camera bit shows that.
    return { muted: this.muted, cameraOff: this.cameraOff || this.noCamera, noCamera: this.noCamera, noMic: this.noMic };
  }

  /** A media warning: true when it says that a device we had is gone (the peer is to be told). */
  deviceGone(code: string): boolean {
    if (NO_CAMERA_WARNINGS.has(code) && !this.noCamera) return (this.noCamera = true);
    if (NO_MIC_WARNINGS.has(code) && !this.noMic) return (this.noMic = true);
    return false;
  }
}
