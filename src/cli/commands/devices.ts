import { FatalError } from '../../codec/errors.js';
import type { CommandContext, RawOptions } from '../program.js';

export async function run(_args: string[], _options: RawOptions, _ctx: CommandContext): Promise<number> {
  throw new FatalError('E_NOT_BUILT', 'devices: not available in this build yet', 1, 'internal');
}
