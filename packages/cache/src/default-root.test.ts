import { describe, expect, it } from 'vitest';
import { defaultCacheRoot } from './default-root.js';

const home = () => '/home/ada';

describe('defaultCacheRoot', () => {
  it('uses $XDG_CACHE_HOME/spinel on Linux when it is absolute', () => {
    expect(defaultCacheRoot({ env: { XDG_CACHE_HOME: '/var/cache/ada' }, platform: 'linux', homedir: home })).toBe('/var/cache/ada/spinel');
  });

  it('falls back to ~/.cache/spinel when XDG_CACHE_HOME is unset, empty or relative', () => {
    for (const env of [{}, { XDG_CACHE_HOME: '' }, { XDG_CACHE_HOME: 'rel/dir' }]) {
      expect(defaultCacheRoot({ env, platform: 'linux', homedir: home })).toBe('/home/ada/.cache/spinel');
    }
  });

  it('uses ~/Library/Caches on macOS and %LOCALAPPDATA% on Windows', () => {
    expect(defaultCacheRoot({ env: { XDG_CACHE_HOME: '/x' }, platform: 'darwin', homedir: home })).toBe('/home/ada/Library/Caches/spinel');
    expect(defaultCacheRoot({ env: { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, platform: 'win32', homedir: () => 'C:\\Users\\ada' })).toBe(
      'C:\\Users\\ada\\AppData\\Local\\spinel',
    );
    expect(defaultCacheRoot({ env: {}, platform: 'win32', homedir: () => 'C:\\Users\\ada' })).toBe('C:\\Users\\ada\\AppData\\Local\\spinel');
  });
});
