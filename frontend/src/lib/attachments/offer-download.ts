/**
 * Hand bytes this app holds to the person as a download under a name of our
 * choosing: an object URL on an <a download>, clicked, then revoked once the
 * browser has taken it (revoking at once can cancel the download in some browsers).
 */
export function offerDownload(blob: Blob, name: string, revokeAfterMs = 60_000): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), revokeAfterMs);
}
