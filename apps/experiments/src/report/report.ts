export async function writeReport(_d: string): Promise<string[]> {
  throw new Error('todo');
}
