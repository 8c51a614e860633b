/**
 * The last frame an image renderer (sixel, kitty) drew, to send nothing when the next one is
 * identical. One buffer reused across frames: allocating a copy per frame was measured to
 * cost more than the comparison itself.
 */
export class LastFrame {
  private buf = new Uint8Array(0);
  private length = -1;
  private key = '';

  /** True when `data` drawn with `key` (size, place) is exactly what was drawn last. */
  same(data: Uint8Array, key: string): boolean {
    if (this.length !== data.length || this.key !== key) return false;
    return Buffer.compare(this.buf.subarray(0, this.length), data) === 0;
  }

  /** Remember `data` as drawn with `key`. */
  remember(data: Uint8Array, key: string): void {
    if (this.buf.length < data.length) this.buf = new Uint8Array(data.length);
    this.buf.set(data);
    this.length = data.length;
    this.key = key;
  }

  /** Forget: the next frame is drawn whatever it is. */
  forget(): void {
    this.length = -1;
  }
}
