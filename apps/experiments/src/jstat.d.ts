// The part of jStat (jstat@1.9.6, no published types) this package uses.
declare module 'jstat' {
  const jStat: {
    studentt: { inv(p: number, dof: number): number; cdf(x: number, dof: number): number };
  };
  export default jStat;
}
