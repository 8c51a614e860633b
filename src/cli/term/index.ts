/** Terminal capability detection (not pure: reads the environment and queries the terminal). */
export { chooseRenderMode, colorDepthFromEnv, drawsOctants, type RenderDecision, type TermEnv, type TmuxInfo } from './choose.js';
export { backgroundFromColorFgBg, capabilityQueries, CAPABILITY_QUERIES, hasDa1Reply, isLightColor, parseReplies, type QueryReplies, type Rgb } from './replies.js';
export { createKittyFileTransfer, kittyTransferFor, kittyTransferMedium, KITTY_TRANSFER_MAX_PENDING, SHM_DIR, type KittyMedium, type KittyFileTransfer } from './kitty-transfer.js';
export { askTmux, detectCapabilities, insideMultiplexer, queryTerminal, QUERY_TIMEOUT_MS, SIXEL_AREA_CAP_PX, type Capabilities, type DetectInput, type DetectOptions, type DetectOutput } from './detect.js';
