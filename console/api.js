// The console's only way to the server: the public JSON API with the signed-in key. Errors
// come back as ApiError carrying the problem+json body (status, detail, errors[]), or as a
// network error (status 0) when the server could not be reached.

import { session } from './session.js';

export class ApiError extends Error {
  constructor(status, problem, network = false) {
    super(problem?.detail || (network ? 'could not reach Switchboard' : `HTTP ${status}`));
    this.status = status;
    this.problem = problem || {};
    this.network = network;
  }

  /** `errors[]` of a problem: [{field, message}]. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

let onUnauthorized = () => {};

/** What to do when the key stops working (revoked, expired, …): the app signs out. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, v);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * One API call. `opts.key` overrides the session key (sign-in checks a key before keeping it);
 * `opts.quiet401` stops a 401 from signing the console out (the sign-in form shows it itself).
 */
export async function api(method, path, body, opts = {}) {
  const headers = { accept: 'application/json' };
  const key = opts.key ?? session.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : (opts.raw ? body : JSON.stringify(body)),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { detail: 'Could not reach Switchboard. Check the connection and try again; nothing you typed was lost.' }, true);
  }
  if (response.status === 204) return null;
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 200) };
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !opts.quiet401) onUnauthorized(error.problem.detail || 'the key no longer works');
    throw error;
  }
  return data;
}

export const get = (path, query, opts) => api('GET', withQuery(path, query), undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
/** POSTs `text` as the JSON body byte for byte (event data as the user typed it). */
export const postRaw = (path, text) => api('POST', path, text, { raw: true });
