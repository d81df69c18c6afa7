/** What the document editor saves: the fields a person edits, and the photos and files when there are any. */
import type { AttachmentRef } from '@lifeline/core';

export interface DocumentFields {
  title: string;
  body: string;
  tags: string[];
  attachments?: AttachmentRef[];
}
