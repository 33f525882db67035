/**
 * Headless Chromium for the studio tests: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser download), a fresh profile per launch, nothing
 * reaching the network on its own. A test that cannot have it says SKIPPED.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Call at the top of a file that needs Chromium: prints the SKIPPED line when it cannot be had. */
export function needChromium(what: string): boolean {
  if (!haveChromium)
    process.stderr.write(
      `\nSKIPPED: ${what}: ${CHROMIUM} is not installed (apt-get install chromium, or set CHROMIUM_PATH)\n\n`,
    );
  return haveChromium;
}

/** A headless Chromium with a fresh profile; closing it removes the profile. */
export async function launchChromium(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'rw-chromium-'));
  // A persistent context is how playwright passes --user-data-dir: the fresh profile made above.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The rest keep the browser off the network and away from first-run work.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 960, height: 720 },
    timeout: 20_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
