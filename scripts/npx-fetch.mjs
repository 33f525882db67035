// Fetches an npx tool (with retries) before a check uses it, so a registry hiccup is
// told apart from a failing check. Returns what the tool printed (truthy) when it runs, else false.
import { spawnSync } from 'node:child_process';

export function fetchTool(packages, bin, args = ['--help'], tries = 3) {
  for (let i = 1; i <= tries; i++) {
    const r = spawnSync('npx', ['-y', ...packages.flatMap((p) => ['-p', p]), bin, ...args], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, npm_config_yes: 'true' },
    });
    if (r.status === 0) return `${r.stdout ?? ''}${r.stderr ?? ''}` || 'ok';
    process.stderr.write(
      `fetching ${packages.join(' ')} failed (try ${i}/${tries}): ${(r.stderr || '')
        .split('\n')
        .filter((l) => l && !l.startsWith('npm warn'))
        .slice(-2)
        .join(' ')}\n`,
    );
  }
  return false;
}
