/** The version reported by `isosync --version` and written as `created by` in torrents. */
export const VERSION = '0.1.0';
