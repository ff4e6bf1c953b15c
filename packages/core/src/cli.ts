// `pnpm --silent cli <command> ...`: checks on the core from the command line.
// Each command lives in its own module under ./cli/ and exports `main(argv): Promise<number>`.
const commands: Record<string, () => Promise<{ main: (argv: string[]) => Promise<number> }>> = {
  finetune: () => import('./cli/finetune.js'),
  lntk: () => import('./cli/lntk.js'),
};

async function run(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const load = name ? commands[name] : undefined;
  if (!load) {
    console.error(`usage: cli <${Object.keys(commands).join('|')}> [options]`);
    return 2;
  }
  const mod = await load();
  return mod.main(rest);
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
