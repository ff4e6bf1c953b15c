/**
 * A setting's sites for one seed. "clients" settings are the simulator's own synthetic clients;
 * domain-gap and label-skew settings build each site's data here (the synthetic generator of
 * packages/core/src/data, its Dirichlet split) and hand it to the simulator.
 *
 * - domain gap (Table 1 T1-like): the same client and task at every site; each site has its
 *   own generator noise / class overlap and an intensity style (contrast, brightness, gamma,
 *   colour cast), like images of one kind from scanners set up differently.
 * - label skew (T4-like): one client's samples pooled and dealt to the sites by a
 *   Dirichlet(alpha) split per answer, then each site's share split 80/20, so a site's held-out
 *   set follows its own label distribution.
 */
import {
  partitionDirichlet,
  syntheticClient,
  type ClientData,
  type ClientName,
  type VqaSample,
} from '@focus-fl/core/data';
import { shuffleInPlace, mulberry32 } from '@focus-fl/core/random';
import type { DomainSiteStyle, Setting } from './spec.js';

export interface SettingSites {
  /** Synthetic client names (simulator builds their data) ... */
  clients?: ClientName[];
  /** ... or sites with their own data. */
  sites?: { name: string; data: ClientData }[];
}

/** Per-site data seed, the simulator's convention (seed x 1009 + site index). */
const siteSeed = (seed: number, i: number) => seed * 1009 + i;

export function buildSettingSites(setting: Setting, seed: number): SettingSites {
  switch (setting.kind) {
    case 'clients':
      return { clients: [...setting.clients] };
    case 'domain-gap':
      return {
        sites: setting.sites.map((style, i) => {
          const data = syntheticClient(setting.client, {
            seed: siteSeed(seed, i),
            scale: 0,
            floor: setting.samples,
            noise: style.noise,
            overlap: style.overlap,
          });
          return {
            name: `site${String(i).padStart(2, '0')}`,
            data: {
              train: data.train.map((s) => restyle(s, style)),
              test: data.test.map((s) => restyle(s, style)),
            },
          };
        }),
      };
    case 'label-skew': {
      const pooled = syntheticClient(setting.client, {
        seed: siteSeed(seed, 0),
        scale: 0,
        floor: setting.samples,
      });
      const parts = partitionDirichlet(
        [...pooled.train, ...pooled.test],
        setting.sites,
        setting.alpha,
        siteSeed(seed, 1),
      );
      return {
        sites: parts.map((part, i) => ({
          name: `site${String(i).padStart(2, '0')}`,
          data: split80(part, siteSeed(seed, 2 + i)),
        })),
      };
    }
  }
}

/** 80/20 split after a seeded shuffle; a site with at least 2 samples keeps one held out. */
export function split80(samples: readonly VqaSample[], seed: number): ClientData {
  const order = shuffleInPlace([...samples], mulberry32(seed));
  const nTest = order.length >= 2 ? Math.max(1, Math.round(order.length * 0.2)) : 0;
  return { test: order.slice(0, nTest), train: order.slice(nTest) };
}

/** The site's intensity style applied to one image (a new sample; the input is kept). */
export function restyle(s: VqaSample, style: DomainSiteStyle): VqaSample {
  const contrast = style.contrast ?? 1;
  const brightness = style.brightness ?? 0;
  const gamma = style.gamma ?? 1;
  const tint = style.tint ?? [1, 1, 1];
  if (contrast === 1 && brightness === 0 && gamma === 1 && tint.every((t) => t === 1)) return s;
  const image = new Uint8Array(s.image.length);
  for (let p = 0; p < s.image.length; p++) {
    const gain = s.channels === 3 ? tint[p % 3] : 1;
    let v = contrast * (s.image[p] / 255 - 0.5) + 0.5 + brightness;
    v = Math.min(1, Math.max(0, v * gain));
    image[p] = Math.round(255 * v ** gamma);
  }
  return { ...s, image };
}

export function siteCount(sites: SettingSites): number {
  return sites.sites?.length ?? sites.clients!.length;
}
