/** How the sync bar names what waits to be sent: photos, a document's files (PDFs), or both. */
function counted(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function waitingAttachmentsWords(photos: number, files: number): string {
  if (files === 0) return counted(photos, 'photo');
  if (photos === 0) return counted(files, 'file');
  return `${counted(photos, 'photo')} and ${counted(files, 'file')}`;
}

/** The noun for a run's progress: "photo" while only photos go, "file" once PDFs are among them. */
export function sentNoun(files: number, total: number): string {
  return `${files > 0 ? 'file' : 'photo'}${total === 1 ? '' : 's'}`;
}
