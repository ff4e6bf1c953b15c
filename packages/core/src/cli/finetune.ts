export async function main(_argv: string[]): Promise<number> {
  console.error('cli finetune: not implemented yet');
  return 1;
}
