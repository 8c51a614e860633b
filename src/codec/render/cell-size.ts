/**
 * Cell size assumed by the pixel renderers (sixel, kitty, iterm) when the terminal did not
 * report one.
 */
/** xterm's default font is about this. */
export const DEFAULT_CELL_WIDTH_PX = 10;
export const DEFAULT_CELL_HEIGHT_PX = 20;
