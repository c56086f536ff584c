/**
 * Headless Chromium through playwright-core: finds the browser binary, launches it with the flags that give
 * WebGPU and WebGL on SwiftShader (CPU only), and opens a page of a served origin, collecting its console.
 *
 * Binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium (scripts/ensure-chromium.sh installs it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where a Chromium binary is looked for, in order. */
export function chromiumCandidates(): string[] {
  const env = process.env.CHROMIUM_PATH;
  return [...(env ? [env] : []), '/usr/bin/chromium', '/usr/bin/chromium-browser'];
}

/** The Chromium binary, or an error saying how to get one. */
export function chromiumPath(): string {
  const found = chromiumCandidates().find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`chromium.ts: expected a Chromium binary at ${chromiumCandidates().join(' or ')}, found none; run scripts/ensure-chromium.sh or set CHROMIUM_PATH`);
  }
  return found;
}

/**
 * Launch flags. No --disable-gpu: WebGL and WebGPU need the GPU process, here backed by SwiftShader
 * (ANGLE on SwiftShader's Vulkan for WebGL; Dawn on SwiftShader Vulkan for WebGPU, which has no adapter
 * without --enable-unsafe-webgpu; Chromium 156 here needed only that flag, the Vulkan/ANGLE ones pin SwiftShader).
 * --no-sandbox: CI runs as root. --disable-dev-shm-usage: containers often have a tiny /dev/shm.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
];

/** A launched browser with one page and what the page printed. */
export interface BrowserSession {
  page: Page;
  /** Console messages and uncaught errors of the page, in order. */
  console: string[];
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile and opens `url`. */
export async function openPage(url: string): Promise<BrowserSession> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-chromium-'));
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, timeout: 60000,
    });
    const page = context.pages()[0] ?? await context.newPage();
    const lines: string[] = [];
    page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    const ctx = context;
    return {
      page,
      console: lines,
      close: async () => {
        await ctx.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await context?.close();
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
