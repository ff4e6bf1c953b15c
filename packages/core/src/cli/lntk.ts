export async function main(_argv: string[]): Promise<number> {
  console.error('cli lntk: not implemented yet');
  return 1;
}
