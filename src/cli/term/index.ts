/** Terminal capability detection (not pure: reads the environment and queries the terminal). */
export { chooseRenderMode, colorDepthFromEnv, type RenderDecision, type TermEnv, type TmuxInfo } from './choose.js';
export { CAPABILITY_QUERIES, hasDa1Reply, parseReplies, type QueryReplies } from './replies.js';
export { askTmux, detectCapabilities, queryTerminal, QUERY_TIMEOUT_MS, SIXEL_AREA_CAP_PX, type Capabilities, type DetectInput, type DetectOptions, type DetectOutput } from './detect.js';
