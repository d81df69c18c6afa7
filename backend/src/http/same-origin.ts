/**
 * Cookie-authenticated writes are accepted only from the app's own origin,
 * judged from Sec-Fetch-Site or Origin (DESIGN.md section 4). Requests with
 * an API key carry no ambient credentials and are not checked; a request
 * with neither header is not from a browser page and cannot ride a cookie
 * cross-site.
 */
import type { NextFunction, Request, Response } from 'express';
import { forbidden } from '../errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sameOriginWrites() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method) || req.get('authorization') !== undefined) return next();
    const fetchSite = req.get('sec-fetch-site');
    if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
      throw forbidden('cross-site request refused', 'cross_site_request');
    }
    const origin = req.get('origin');
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        throw forbidden('malformed Origin header', 'cross_site_request');
      }
      if (originHost !== req.get('host')) throw forbidden('cross-site request refused', 'cross_site_request');
    } else if (origin === 'null') {
      throw forbidden('cross-site request refused', 'cross_site_request');
    }
    next();
  };
}
