/**
 * Replacing a small state file so that a crash leaves the old content or the new one, never a
 * mix: write a temporary file beside it, fsync it, rename it over the file, fsync the directory
 * (so the rename itself survives a power cut). Used by the goflow2 registry, the disk queue's
 * ledger and the NetFlow template cache.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  // one fixed name: what a crash leaves behind is overwritten by the next write, never piles up
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // not every platform can fsync a directory; the rename is atomic all the same
  }
}
