"""Head-only proxy of the federation (docs/federated-recipe.md, "Finding the cause").

Replays local training, aggregation and evaluation of the answer head alone (softmax regression
on the frozen base's pooled features from head-features.ts) in numpy: AdamW or SGD + momentum
locally (restarted every round, as trainLayers), sample-weighted FedAvg, optional server
momentum / Adam (Reddi et al., ICLR 2021, Algorithm 2) and the answer masks of
packages/core/src/train/answer-mask.ts. Seconds per configuration, so a sweep is cheap; checked
against the real federation (scripts/fedlab.ts) at two points in the doc.

    python3 bench/diagnostics/head_proxy.py FEATURES.json
"""
import json, sys
import numpy as np

MOM = 0.9
D = json.load(open(sys.argv[1]))
A = len(D['answers']); H = 64
W0 = np.array(D['W']['data'], dtype=np.float64).reshape(H, A); b0 = np.array(D['b']['data'], dtype=np.float64)
types = sorted(D['byType'])
tmask = {t: np.array([0.0 if a in set(D['byType'][t]) else -1e4 for a in D['answers']]) for t in types}
S = []
for s in D['sites']:
    tr = s['train']; te = s['test']
    S.append(dict(name=s['name'], Xtr=np.array(tr['f']), ytr=np.array(tr['y']), Mtr=np.stack([tmask[t] for t in tr['t']]),
                  Xte=np.array(te['f']), yte=np.array(te['y']), Mte=np.stack([tmask[t] for t in te['t']]), tte=np.array(te['t'])))
def softmax(z):
    z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
def grad(W, b, X, y, M, mask):
    z = X @ W + b + (M if mask else 0)
    p = softmax(z); p[np.arange(len(y)), y] -= 1; p /= len(y)
    return X.T @ p, p.sum(0)
def local(W, b, X, y, M, steps, bs, lr, opt, mask, rng, wd=0.01, mom=None, mu=0.0):
    mom = MOM if mom is None else mom
    W = W.copy(); b = b.copy(); Wg, bg = W.copy(), b.copy()
    mW = np.zeros_like(W); vW = np.zeros_like(W); mb = np.zeros_like(b); vb = np.zeros_like(b)
    order = []; t = 0
    for step in range(steps):
        if len(order) < bs: order = list(rng.permutation(len(y))) + order
        idx = [order.pop() for _ in range(min(bs, len(y)))]
        gW, gb = grad(W, b, X[idx], y[idx], M[idx], mask)
        if mu: gW = gW + mu*(W-Wg); gb = gb + mu*(b-bg)
        t += 1
        if opt == 'adam':
            mW = .9*mW + .1*gW; vW = .999*vW + .001*gW**2; mb = .9*mb + .1*gb; vb = .999*vb + .001*gb**2
            c1 = 1-.9**t; c2 = 1-.999**t
            W -= lr*((mW/c1)/(np.sqrt(vW/c2)+1e-8) + wd*W); b -= lr*((mb/c1)/(np.sqrt(vb/c2)+1e-8) + wd*b)
        else:
            mW = mom*mW + gW; mb = mom*mb + gb
            W -= lr*(mW + wd*W); b -= lr*(mb + wd*b)
    return W, b
def evals(W, b, mask):
    accs=[]; mods=[]
    for s in S:
        z = s['Xte'] @ W + b + (s['Mte'] if mask else 0); pr = z.argmax(1)
        accs.append((pr == s['yte']).mean()); m = s['tte']=='modality'; mods.append((pr[m]==s['yte'][m]).mean())
    return np.array(accs), np.array(mods)
def fed(rounds=5, steps=30, bs=16, lr=3e-3, opt='adam', mask=False, server='avg', slr=1.0, b1=0.9, b2=0.99, tau=1e-3, seed=0, mu=0.0, units='layer'):
    """units='answer': each site zeroes the answers its mask cannot reach and each answer is
    averaged over the sites that trained it (aggregate.ts headAggregation 'answer')."""
    rng = np.random.default_rng(seed); W, b = W0.copy(), b0.copy()
    n = np.array([len(s['ytr']) for s in S], float)
    m = [np.zeros_like(W), np.zeros_like(b)]; v = [np.full_like(W, tau**2), np.full_like(b, tau**2)]
    hist=[]
    for r in range(rounds):
        dW = np.zeros_like(W); db = np.zeros_like(b); wa = np.zeros(A)
        for i, s in enumerate(S):
            Wi, bi = local(W, b, s['Xtr'], s['ytr'], s['Mtr'], steps, bs, lr, opt, mask, rng, mu=mu)
            reach = (s['Mtr'] > -1).any(0).astype(float) if mask else np.ones(A)
            dW += n[i]*(Wi-W)*reach[None, :]; db += n[i]*(bi-b)*reach; wa += n[i]*reach
        if units == 'answer':
            w = np.where(wa > 0, wa, 1); dW /= w[None, :]; db /= w
        else:
            dW /= n.sum(); db /= n.sum()
        for k, (x, d) in enumerate(((W, dW), (b, db))):
            if server == 'avg': x += slr*d
            elif server == 'avgm': m[k] = b1*m[k] + d; x += slr*m[k]
            elif server == 'adam':
                m[k] = b1*m[k] + (1-b1)*d; v[k] = b2*v[k] + (1-b2)*d*d; x += slr*m[k]/(np.sqrt(v[k])+tau)
        hist.append(evals(W, b, mask))
    return hist
def pooled(steps=150, bs=64, lr=3e-3, opt='adam', mask=False, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([s['Xtr'] for s in S]); y = np.concatenate([s['ytr'] for s in S]); M = np.concatenate([s['Mtr'] for s in S])
    W, b = local(W0, b0, X, y, M, steps, bs, lr, opt, mask, rng)
    return evals(W, b, mask)
def alone(steps=150, bs=16, lr=3e-3, mask=False, seed=0):
    """Each site trains the head on its own data only; accuracy per site."""
    accs = []; mods = []
    for s in S:
        W, b = local(W0, b0, s['Xtr'], s['ytr'], s['Mtr'], steps, bs, lr, 'adam', mask, np.random.default_rng(seed))
        z = s['Xte'] @ W + b + (s['Mte'] if mask else 0); pr = z.argmax(1); m = s['tte'] == 'modality'
        accs.append((pr == s['yte']).mean()); mods.append((pr[m] == s['yte'][m]).mean())
    return np.array(accs), np.array(mods)
def show(label, h):
    if isinstance(h, list):
        a, md = h[-1]; rr = ' '.join('%.1f'%(100*x[0].mean()) for x in h)
        print(f"{label:40s} {100*a.mean():5.1f} [{' '.join('%.0f'%(100*x) for x in a)}] mod[{' '.join('%.0f'%(100*x) for x in md)}] rounds[{rr}]")
    else:
        a, md = h; print(f"{label:40s} {100*a.mean():5.1f} [{' '.join('%.0f'%(100*x) for x in a)}] mod[{' '.join('%.0f'%(100*x) for x in md)}]")


def site_rule():
    """Rule 'site': also mask the answers a site's training split never has."""
    for s in S:
        have = np.zeros(A); have[np.unique(s['ytr'])] = 1
        s['Mtr'] = s['Mtr'] + np.where(have > 0, 0, -1e4)[None, :]
        s['Mte'] = s['Mte'] + np.where(have > 0, 0, -1e4)[None, :]


if __name__ == '__main__':
    K = len(S)
    print('rule none / question-type:')
    show('pooled, same samples, AdamW', pooled(150, 16 * K))
    show('pooled, same samples, AdamW, type mask', pooled(150, 16 * K, mask=True))
    show('fed AdamW 3e-3, FedAvg (old)', fed())
    show('fed AdamW, type mask', fed(mask=True))
    show('fed SGDm 0.1, type mask, FedAdam 0.1', fed(lr=0.1, opt='sgdm', mask=True, server='adam', slr=0.1))
    show('fed SGDm 0.1, type mask, FedAvgM', fed(lr=0.1, opt='sgdm', mask=True, server='avgm'))
    site_rule()
    print("rule 'site':")
    show('pooled, same samples, AdamW, site rule', pooled(150, 16 * K, mask=True))
    show('fed AdamW 3e-3, FedAvg, site rule', fed(mask=True))
    show('fed SGDm 0.1, FedAdam 0.1, site rule', fed(lr=0.1, opt='sgdm', mask=True, server='adam', slr=0.1))
    show('alone, site rule', alone(mask=True))
    show('fed AdamW, site rule, head per answer', fed(mask=True, units='answer'))
    show('  + FedAvgM beta 0.5', fed(mask=True, units='answer', server='avgm', b1=0.5))
    show('  + server lr 2', fed(mask=True, units='answer', slr=2.0))
    show('  + FedAdam 0.03', fed(mask=True, units='answer', server='adam', slr=0.03))
    show('  10 rounds x 15 steps', fed(mask=True, units='answer', rounds=10, steps=15))
    show('  local lr 1e-2', fed(mask=True, units='answer', lr=1e-2))
