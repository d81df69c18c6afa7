/** The device-room check both pickers make before taking a photo or a file onto a form. */
import { bytes } from '$lib/util/format';
import { roomFor } from '$lib/util/storage';

/**
 * Why `name` (`needed` bytes) cannot be kept on this device, or null when it
 * fits. Nothing on a form is stored before saving, so `onForm` (what the
 * form already holds) counts against the room left too.
 */
export async function whyNoRoom(
  name: string,
  needed: number,
  onForm: number,
  removable: 'photos' | 'files',
): Promise<string | null> {
  const room = await roomFor(onForm + needed);
  if (room.fits) return null;
  return (
    `${name} was not added: this device does not have room to keep it (it needs ${bytes(needed)}, ` +
    `${bytes(Math.max(0, (room.free ?? 0) - onForm))} is left). ` +
    `Clear offline photos and files on the Sync page, or remove other ${removable}.`
  );
}
