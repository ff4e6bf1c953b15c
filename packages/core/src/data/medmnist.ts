// The twelve MedMNIST v2 2-D subsets and the nine Ultra-MedVQA clients built from them
// (docs/method.md §5). Label names are MedMNIST's own (`labels`, as in medmnist's INFO dict);
// `answers` are the lowercase short forms used as VQA answers.

export type SubsetName =
  | 'pathmnist'
  | 'chestmnist'
  | 'dermamnist'
  | 'octmnist'
  | 'pneumoniamnist'
  | 'retinamnist'
  | 'breastmnist'
  | 'bloodmnist'
  | 'tissuemnist'
  | 'organamnist'
  | 'organcmnist'
  | 'organsmnist';

export type ClientName =
  | 'chest_xray'
  | 'oct'
  | 'colon_pathology'
  | 'dermatoscope'
  | 'fundus'
  | 'ultrasound'
  | 'blood_microscope'
  | 'kidney_cortex'
  | 'abdominal_ct';

export type MedMnistTask = 'multi-class' | 'multi-label' | 'binary' | 'ordinal';

export interface SubsetInfo {
  name: SubsetName;
  /** MedMNIST label names, index = label value. */
  labels: readonly string[];
  /** Lowercase VQA answers, index = label value. */
  answers: readonly string[];
  task: MedMnistTask;
  channels: 1 | 3;
  /** VQA answer to the modality question. */
  modality: string;
  /** VQA answer to the anatomy question (abdominal CT asks for the organ instead). */
  anatomy: string;
  /** CT plane of the OrganMNIST subsets (docs/method.md §5 "What view of CT scan is seen?"). */
  view?: 'axial' | 'coronal' | 'sagittal';
  /** MedMNIST v2 sample count (train + val + test), used to split a client between subsets. */
  count: number;
}

const ORGANS = [
  'bladder',
  'femur-left',
  'femur-right',
  'heart',
  'kidney-left',
  'kidney-right',
  'liver',
  'lung-left',
  'lung-right',
  'pancreas',
  'spleen',
] as const;
const ORGAN_ANSWERS = [
  'bladder',
  'left femur',
  'right femur',
  'heart',
  'left kidney',
  'right kidney',
  'liver',
  'left lung',
  'right lung',
  'pancreas',
  'spleen',
] as const;

export const SUBSETS: Readonly<Record<SubsetName, SubsetInfo>> = {
  pathmnist: {
    name: 'pathmnist',
    labels: [
      'adipose',
      'background',
      'debris',
      'lymphocytes',
      'mucus',
      'smooth muscle',
      'normal colon mucosa',
      'cancer-associated stroma',
      'colorectal adenocarcinoma epithelium',
    ],
    answers: [
      'adipose',
      'background',
      'debris',
      'lymphocytes',
      'mucus',
      'smooth muscle',
      'normal colon mucosa',
      'cancer-associated stroma',
      'colorectal adenocarcinoma epithelium',
    ],
    task: 'multi-class',
    channels: 3,
    modality: 'histopathology',
    anatomy: 'colon',
    count: 107_180,
  },
  chestmnist: {
    name: 'chestmnist',
    labels: [
      'atelectasis',
      'cardiomegaly',
      'effusion',
      'infiltration',
      'mass',
      'nodule',
      'pneumonia',
      'pneumothorax',
      'consolidation',
      'edema',
      'emphysema',
      'fibrosis',
      'pleural',
      'hernia',
    ],
    answers: [
      'atelectasis',
      'cardiomegaly',
      'effusion',
      'infiltration',
      'mass',
      'nodule',
      'pneumonia',
      'pneumothorax',
      'consolidation',
      'edema',
      'emphysema',
      'fibrosis',
      'pleural thickening',
      'hernia',
    ],
    task: 'multi-label',
    channels: 1,
    modality: 'x-ray',
    anatomy: 'chest',
    count: 112_120,
  },
  dermamnist: {
    name: 'dermamnist',
    labels: [
      'actinic keratoses and intraepithelial carcinoma',
      'basal cell carcinoma',
      'benign keratosis-like lesions',
      'dermatofibroma',
      'melanoma',
      'melanocytic nevi',
      'vascular lesions',
    ],
    answers: [
      'actinic keratosis',
      'basal cell carcinoma',
      'benign keratosis',
      'dermatofibroma',
      'melanoma',
      'melanocytic nevus',
      'vascular lesion',
    ],
    task: 'multi-class',
    channels: 3,
    modality: 'dermatoscopy',
    anatomy: 'skin',
    count: 10_015,
  },
  octmnist: {
    name: 'octmnist',
    labels: ['choroidal neovascularization', 'diabetic macular edema', 'drusen', 'normal'],
    answers: ['choroidal neovascularization', 'diabetic macular edema', 'drusen', 'normal'],
    task: 'multi-class',
    channels: 1,
    modality: 'optical coherence tomography',
    anatomy: 'retina',
    count: 109_309,
  },
  pneumoniamnist: {
    name: 'pneumoniamnist',
    labels: ['normal', 'pneumonia'],
    answers: ['normal', 'pneumonia'],
    task: 'binary',
    channels: 1,
    modality: 'x-ray',
    anatomy: 'chest',
    count: 5_856,
  },
  retinamnist: {
    name: 'retinamnist',
    labels: ['0', '1', '2', '3', '4'],
    answers: ['grade 0', 'grade 1', 'grade 2', 'grade 3', 'grade 4'],
    task: 'ordinal',
    channels: 3,
    modality: 'fundus photography',
    anatomy: 'retina',
    count: 1_600,
  },
  breastmnist: {
    name: 'breastmnist',
    labels: ['malignant', 'normal, benign'],
    answers: ['malignant', 'benign'],
    task: 'binary',
    channels: 1,
    modality: 'ultrasound',
    anatomy: 'breast',
    count: 780,
  },
  bloodmnist: {
    name: 'bloodmnist',
    labels: [
      'basophil',
      'eosinophil',
      'erythroblast',
      'immature granulocytes(myelocytes, metamyelocytes and promyelocytes)',
      'lymphocyte',
      'monocyte',
      'neutrophil',
      'platelet',
    ],
    answers: [
      'basophil',
      'eosinophil',
      'erythroblast',
      'immature granulocyte',
      'lymphocyte',
      'monocyte',
      'neutrophil',
      'platelet',
    ],
    task: 'multi-class',
    channels: 3,
    modality: 'microscopy',
    anatomy: 'blood',
    count: 17_092,
  },
  tissuemnist: {
    name: 'tissuemnist',
    labels: [
      'Collecting Duct, Connecting Tubule',
      'Distal Convoluted Tubule',
      'Glomerular endothelial cells',
      'Interstitial endothelial cells',
      'Leukocytes',
      'Podocytes',
      'Proximal Tubule Segments',
      'Thick Ascending Limb',
    ],
    answers: [
      'collecting duct',
      'distal convoluted tubule',
      'glomerular endothelial cell',
      'interstitial endothelial cell',
      'leukocyte',
      'podocyte',
      'proximal tubule',
      'thick ascending limb',
    ],
    task: 'multi-class',
    channels: 1,
    modality: 'microscopy',
    anatomy: 'kidney',
    count: 236_386,
  },
  organamnist: {
    name: 'organamnist',
    labels: ORGANS,
    answers: ORGAN_ANSWERS,
    task: 'multi-class',
    channels: 1,
    modality: 'ct',
    anatomy: 'abdomen',
    view: 'axial',
    count: 58_850,
  },
  organcmnist: {
    name: 'organcmnist',
    labels: ORGANS,
    answers: ORGAN_ANSWERS,
    task: 'multi-class',
    channels: 1,
    modality: 'ct',
    anatomy: 'abdomen',
    view: 'coronal',
    count: 23_660,
  },
  organsmnist: {
    name: 'organsmnist',
    labels: ORGANS,
    answers: ORGAN_ANSWERS,
    task: 'multi-class',
    channels: 1,
    modality: 'ct',
    anatomy: 'abdomen',
    view: 'sagittal',
    count: 25_221,
  },
};

export const SUBSET_NAMES = Object.keys(SUBSETS) as SubsetName[];

/** Number of label columns in the .npz labels array (14 for ChestMNIST, else 1). */
export function labelWidth(subset: SubsetName): number {
  return SUBSETS[subset].task === 'multi-label' ? SUBSETS[subset].labels.length : 1;
}

export interface ClientInfo {
  name: ClientName;
  subsets: readonly SubsetName[];
  /** Triplet count of the client in the paper (docs/method.md §5). */
  paperCount: number;
}

/** The nine clients in the paper's order (docs/method.md §5). Names are a stable interface. */
export const CLIENTS: Readonly<Record<ClientName, ClientInfo>> = {
  chest_xray: {
    name: 'chest_xray',
    subsets: ['chestmnist', 'pneumoniamnist'],
    paperCount: 117_976,
  },
  oct: { name: 'oct', subsets: ['octmnist'], paperCount: 109_309 },
  colon_pathology: { name: 'colon_pathology', subsets: ['pathmnist'], paperCount: 107_180 },
  dermatoscope: { name: 'dermatoscope', subsets: ['dermamnist'], paperCount: 10_015 },
  fundus: { name: 'fundus', subsets: ['retinamnist'], paperCount: 1_600 },
  ultrasound: { name: 'ultrasound', subsets: ['breastmnist'], paperCount: 780 },
  blood_microscope: { name: 'blood_microscope', subsets: ['bloodmnist'], paperCount: 17_092 },
  kidney_cortex: { name: 'kidney_cortex', subsets: ['tissuemnist'], paperCount: 236_386 },
  abdominal_ct: {
    name: 'abdominal_ct',
    subsets: ['organamnist', 'organcmnist', 'organsmnist'],
    paperCount: 107_624,
  },
};

export const CLIENT_NAMES: readonly ClientName[] = [
  'chest_xray',
  'oct',
  'colon_pathology',
  'dermatoscope',
  'fundus',
  'ultrasound',
  'blood_microscope',
  'kidney_cortex',
  'abdominal_ct',
];

/** Validated lookup with an error that lists the valid names. */
export function clientInfo(name: string): ClientInfo {
  const info = (CLIENTS as Record<string, ClientInfo | undefined>)[name];
  if (!info) {
    throw new Error(`unknown client "${name}"; expected one of ${CLIENT_NAMES.join(', ')}`);
  }
  return info;
}

export function subsetInfo(name: string): SubsetInfo {
  const info = (SUBSETS as Record<string, SubsetInfo | undefined>)[name];
  if (!info) {
    throw new Error(
      `unknown MedMNIST subset "${name}"; expected one of ${SUBSET_NAMES.join(', ')}`,
    );
  }
  return info;
}

/**
 * Splits `total` samples of a client between its subsets in proportion to their MedMNIST
 * sizes (largest-remainder rounding, so the parts sum to `total` exactly).
 */
export function splitCountBySubset(client: ClientName, total: number): Map<SubsetName, number> {
  const subsets = CLIENTS[client].subsets;
  const sizes = subsets.map((s) => SUBSETS[s].count);
  const sum = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (s / sum) * total);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    parts[i] += 1;
    left -= 1;
  }
  return new Map(subsets.map((s, i) => [s, parts[i]]));
}
