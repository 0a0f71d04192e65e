/** Whether a command-line argument is an http(s) URL rather than a path. */
export function isUrl(arg: string): boolean {
  return /^https?:\/\//i.test(arg);
}
