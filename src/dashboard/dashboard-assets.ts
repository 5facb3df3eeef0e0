import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface DashboardFile {
  body: Buffer;
  contentType: string;
  /** A strong validator for If-None-Match; also the `?v=` the page links the asset with. */
  version: string;
}

export const DASHBOARD_ASSET_NAMES = ['dashboard.js', 'dashboard.css', 'chart.js'] as const;
export type DashboardAssetName = (typeof DASHBOARD_ASSET_NAMES)[number];

const PUBLIC_FOLDER = join('src', 'dashboard', 'public');

/**
 * The page's folder: `src/dashboard/public` under the nearest ancestor holding package.json.
 * tsc does not copy these files into `dist`, so this works from `src/` (Jest) and `dist/src/`.
 */
export function findDashboardPublicDirectory(startDirectory: string = __dirname): string {
  for (let directory = startDirectory; ; directory = dirname(directory)) {
    const candidate = join(directory, PUBLIC_FOLDER);
    if (existsSync(join(directory, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(directory) === directory) {
      throw new Error(`No ${PUBLIC_FOLDER} folder next to a package.json above ${startDirectory}`);
    }
  }
}

/**
 * chart.js' package exports do not list its UMD build, so it is found beside the CommonJS entry.
 * The UMD build defines `window.Chart` for a plain script tag, with no bundler involved.
 */
function chartUmdPath(): string {
  const path = join(dirname(require.resolve('chart.js')), 'chart.umd.js');
  if (!existsSync(path)) throw new Error(`chart.js has no UMD build at ${path}`);
  return path;
}

function fileOf(body: Buffer, contentType: string): DashboardFile {
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { body, contentType, version };
}

/** The operator dashboard's page and assets, read once at boot and served from memory. */
export class DashboardAssets {
  constructor(
    readonly page: DashboardFile,
    private readonly assets: Record<DashboardAssetName, DashboardFile>,
  ) {}

  asset(name: DashboardAssetName): DashboardFile {
    return this.assets[name];
  }

  static load(publicDirectory: string = findDashboardPublicDirectory()): DashboardAssets {
    const javascript = 'text/javascript; charset=utf-8';
    const inPublic = (name: string) => readFileSync(join(publicDirectory, name));
    const assets: Record<DashboardAssetName, DashboardFile> = {
      'dashboard.js': fileOf(inPublic('dashboard.js'), javascript),
      'dashboard.css': fileOf(inPublic('dashboard.css'), 'text/css; charset=utf-8'),
      'chart.js': fileOf(readFileSync(chartUmdPath()), javascript),
    };
    // Versioned links let browsers keep assets for a year; a new build changes the links.
    let html = readFileSync(join(publicDirectory, 'index.html'), 'utf8');
    for (const name of DASHBOARD_ASSET_NAMES) {
      const link = `"/admin/assets/${name}"`;
      if (!html.includes(link)) throw new Error(`index.html does not link ${link}`);
      html = html.replaceAll(link, `"/admin/assets/${name}?v=${assets[name].version}"`);
    }
    return new DashboardAssets(fileOf(Buffer.from(html), 'text/html; charset=utf-8'), assets);
  }
}
