/**
 * The error hierarchy lives in core/errors.ts; this module keeps the path
 * every other module imports it from.
 */
export * from './core/errors.js';
