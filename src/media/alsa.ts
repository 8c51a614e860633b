/**
 * What ALSA offers as its `default` output, in the words doctor and the call both use: a call
 * on a machine without a sound card says the same one line as `videochat doctor`, not the
 * assertion text libasound prints as it aborts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** How doctor and the call name a machine whose ALSA has no default output at all. */
export const NO_SOUND_CARD = 'no sound card and no ALSA configuration';

/** Where ALSA's `default` comes from, or null when nothing defines a usable one. */
export function alsaDefaultSource(env: NodeJS.ProcessEnv, procAsoundDir = '/proc/asound'): string | null {
  if (env.ALSA_CONFIG_PATH) return `ALSA_CONFIG_PATH=${env.ALSA_CONFIG_PATH}`;
  for (const f of [join(env.HOME ?? homedir(), '.asoundrc'), '/etc/asound.conf']) {
    if (existsSync(f)) return f;
  }
  // PipeWire / PulseAudio install an ALSA plugin that becomes the default.
  for (const dir of ['/usr/share/alsa/alsa.conf.d', '/etc/alsa/conf.d']) {
    try {
      const plugin = readdirSync(dir).find((f) => /pulse|pipewire/.test(f));
      if (plugin) return `${join(dir, plugin)}`;
    } catch {
      // Not there: try the next place.
    }
  }
  let cards = '';
  try {
    cards = readFileSync(join(procAsoundDir, 'cards'), 'utf8');
  } catch {
    // No ALSA in the kernel (containers, servers).
  }
  const card = /^\s*\d+ \[[^\]]*\]: (.*)$/m.exec(cards);
  return card ? `sound card ${card[1].trim()}` : null;
}

