// Depth growth by stacking (Gong et al. 2019, "Efficient training of BERT by progressively
// stacking"): a deeper model of the same width starts from a trained shallower one, block j of
// the deep model copying block floor(j * L_shallow / L_deep) of the shallow one; embeddings,
// final LayerNorm, pooler and head are copied as they are. Pretraining the 12-block `small`
// base from the trained 6-block `tiny` costs a fraction of training it from scratch.
import type { NamedArrays } from '../tensors/named.js';
import { blockName } from '../model/params.js';
import { createModel, type VqaModel } from '../model/vqa-model.js';
import type { ModelConfig } from '../model/config.js';

/** A new model of config `deep` whose base and head are stacked copies of `shallow`'s. */
export function stackBlocks(shallow: VqaModel, deep: ModelConfig, seed: number): VqaModel {
  const s = shallow.config;
  const widthKeys = ['hidden', 'mlpDim', 'numHeads', 'imageSize', 'patchSize', 'maxTextLen'];
  for (const k of widthKeys as (keyof ModelConfig)[]) {
    if (s[k] !== deep[k])
      throw new Error(
        `stackBlocks: ${String(k)} differs (${String(s[k])} vs ${String(deep[k])}); stacking needs equal widths`,
      );
  }
  if (deep.numLayers < s.numLayers)
    throw new Error(
      `stackBlocks: the deep model has ${deep.numLayers} blocks, fewer than the shallow ${s.numLayers}`,
    );
  const model = createModel(deep, { seed, answers: shallow.answers });
  const units = new Set(model.layerNames());
  const src = shallow.getParams();
  const out: NamedArrays = {};
  for (const name of model.paramNames()) {
    // Adapters / LoRA units keep their fresh (identity) init.
    if (units.has(name.split('/')[0])) continue;
    const m = /^block(\d+)\/(.+)$/.exec(name);
    const from = m
      ? `${blockName(Math.floor((Number(m[1]) * s.numLayers) / deep.numLayers))}/${m[2]}`
      : name;
    const v = src[from];
    if (!v) throw new Error(`stackBlocks: the shallow model has no tensor "${from}"`);
    out[name] = { shape: [...v.shape], data: v.data.slice() };
  }
  model.setParams(out);
  return model;
}
