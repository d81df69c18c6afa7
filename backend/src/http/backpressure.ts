import type { Response } from 'express';

/** After a write the socket did not take at once: wait until it drains, or the client has gone. */
export function drainedOrClosed(res: Response): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
