/** Library entry point: the pieces other programs may reuse. */
export { IsosyncError } from './errors.js';
export type { ErrorCode } from './errors.js';
