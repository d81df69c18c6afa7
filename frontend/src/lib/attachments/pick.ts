/**
 * What both pickers (photos, a document's PDF files) do with what a person
 * chose: one file at a time, prepare it on this device, skip one already on
 * the form, keep to the record's limit and to the device's room, and hand
 * each accepted draft over as soon as it is ready, so it shows at once.
 */
import { MAX_RECORD_ATTACHMENTS, type AttachmentRef } from '@lifeline/core';
import { whyNoRoom } from './room';

export interface PickOptions<Draft extends { ref: AttachmentRef }> {
  /** The drafts on the form now: read again for each file, as each one added changes it. */
  current: () => Draft[];
  add: (draft: Draft) => void;
  /** The form's other attachments (not stored yet): they share the limit and the room. */
  others: { count: number; bytes: number };
  /** What to say when the form is full. */
  tooMany: string;
  prepare: (file: File) => Promise<Draft>;
  /** Bytes a draft will keep on this device (0 for one stored before this edit). */
  keptBytes: (draft: Draft) => number;
  /** What the person could remove to make room, for the words. */
  removable: 'photos' | 'files';
  /** Shown as soon as it happens; a later problem replaces an earlier one. */
  problem: (message: string) => void;
  /** +1 when a file starts being prepared, −1 when it is done. */
  preparing: (delta: 1 | -1) => void;
}

export async function takePicked<Draft extends { ref: AttachmentRef }>(
  chosen: File[],
  options: PickOptions<Draft>,
): Promise<void> {
  for (const file of chosen) {
    if (options.current().length + options.others.count >= MAX_RECORD_ATTACHMENTS) {
      options.problem(options.tooMany);
      return;
    }
    options.preparing(1);
    try {
      const draft = await options.prepare(file);
      const onForm = options.current();
      if (onForm.some((other) => other.ref.hash === draft.ref.hash)) continue;
      const heldBytes = onForm.reduce((sum, other) => sum + options.keptBytes(other), options.others.bytes);
      const noRoom = await whyNoRoom(file.name, options.keptBytes(draft), heldBytes, options.removable);
      if (noRoom) {
        options.problem(noRoom);
        continue;
      }
      options.add(draft);
    } catch (error) {
      options.problem(`${file.name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      options.preparing(-1);
    }
  }
}
