// wordlight/vite: serves (dev) and copies (build) the files the JS API
// loads at run time (worker, engine, wasm builds) under <base>wordlight/.
export default function wordlight(): {
  name: string;
  [hook: string]: unknown;
};
/** [name under wordlight/, file on disk] for every file the API loads at run time. */
export function runtimeFiles(dir?: string): [string, string][];
