/**
 * Where Runware serves generated media. The studio page loads remote outputs
 * only from these origins (the MCP App declares them as its CSP resource
 * domains; the local page's CSP lists them); anything else is shown as a link's
 * text, never fetched.
 */
/** The origin Runware's API reference documents for output URLs (im.runware.ai/image/...). */
export const RUNWARE_MEDIA_ORIGINS = ['https://im.runware.ai'] as const;

/** Whether a URL points at one of Runware's media origins (https only). */
export function isRunwareMedia(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return (RUNWARE_MEDIA_ORIGINS as readonly string[]).includes(new URL(url).origin);
  } catch {
    return false;
  }
}
