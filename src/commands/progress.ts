/** Progress on stderr, only for a person watching a terminal. */
export function progressPrinter(): ((p: { progress: number; message: string }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => {
    process.stderr.write(`\r${p.message.padEnd(40)}`);
    if (p.progress >= 100) process.stderr.write('\n');
  };
}
