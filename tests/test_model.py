"""The models: causality, the Backpack's definition (against a direct loop), the efficient path
against the explicit one, the analysis interface, caches, and parameter counts."""

import math

import pytest
import torch

from model import GPT, BackpackConfig, BackpackLM, GPTConfig, KVCache, build_model

TINY = dict(block_size=24, vocab_size=50, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=True)


def tiny(model_name, seed=0, **overrides):
    torch.manual_seed(seed)
    args = dict(TINY, **overrides)
    if model_name == 'backpack-lm':
        args.setdefault('n_sense_vector', 4)
    return build_model(model_name, **args).eval()


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_causality(model_name):
    """Changing the tokens after position t leaves the logits up to t unchanged."""
    model = tiny(model_name)
    idx = torch.randint(0, 50, (3, 20))
    changed = idx.clone()
    changed[:, 12:] = (changed[:, 12:] + 1 + torch.randint(0, 48, (3, 8))) % 50
    logits, _ = model(idx, all_logits=True)
    logits_changed, _ = model(changed, all_logits=True)
    V = model.config.vocab_size
    torch.testing.assert_close(logits[:, :12, :V], logits_changed[:, :12, :V], rtol=0, atol=1e-6)
    assert (logits[:, 12:, :V] - logits_changed[:, 12:, :V]).abs().max() > 1e-4


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_logits_cover_every_position_with_targets_and_padding_gets_no_probability(model_name):
    model = tiny(model_name, vocab_size=50)
    assert model.config.padded_vocab_size == 64
    idx = torch.randint(0, 50, (2, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 10, 64)
    assert torch.isinf(logits[..., 50:]).all() and torch.isfinite(logits[..., :50]).all()
    assert math.isfinite(loss.item())
    last, no_loss = model(idx)
    assert last.shape == (2, 1, 64) and no_loss is None
    torch.testing.assert_close(last[:, 0, :50], logits[:, -1, :50])


def test_backpack_equals_a_direct_loop_over_positions_and_senses():
    """o_i = sum_k sum_{j<=i} alpha_kij C(x_j)_k and logits_i = E o_i, written out with loops from
    the definition in backpack.md, using only the model's weights."""
    model = tiny('backpack-lm')
    K, d = model.config.n_sense_vector, model.config.n_embd
    idx = torch.randint(0, 50, (2, 7))
    with torch.no_grad():
        logits, _ = model(idx, all_logits=True)
        h = model.transformer(idx)
        W, b = model.sense_weight_net.weight, model.sense_weight_net.bias
        E = model.lm_head.weight
        for bi in range(2):
            for i in range(7):
                o = torch.zeros(d)
                for k in range(K):
                    sl = slice(k * d // K, (k + 1) * d // K)
                    q = (h[bi, i] @ W[:d].T + b[:d])[sl]
                    scores = torch.stack([q @ (h[bi, j] @ W[d:].T + b[d:])[sl] for j in range(i + 1)])
                    alpha = torch.softmax(scores / math.sqrt(d / K), dim=0)
                    for j in range(i + 1):
                        o += alpha[j] * model.sense_vectors(idx[bi, j].view(1))[0, k]
                expected = E[:50] @ o
                torch.testing.assert_close(logits[bi, i, :50], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_efficient_path_equals_explicit_path(mode):
    """The attention-based sum over senses (no alpha materialised) gives the logits of the explicit
    einsum over alpha: float32, relative error < 1e-5; in train mode gradients agree too."""
    model = tiny('backpack-lm', n_embd=32, n_sense_vector=8)
    model.train(mode == 'train')
    idx = torch.randint(0, 50, (3, 24))
    logits, loss = model(idx, idx)
    explicit, loss_explicit, alpha = model.forward_explicit(idx, idx)
    V = model.config.vocab_size
    rel = (logits[..., :V] - explicit[..., :V]).abs().max() / explicit[..., :V].abs().max()
    assert rel < 1e-5
    if mode == 'train':
        grads = torch.autograd.grad(loss, list(model.parameters()))
        grads_explicit = torch.autograd.grad(loss_explicit, list(model.parameters()))
        for g, ge in zip(grads, grads_explicit):
            torch.testing.assert_close(g, ge, rtol=1e-4, atol=1e-6)


def test_sense_dedup_equals_per_token_sense_network():
    """Running the sense network once per distinct token id and gathering gives the same logits
    and gradients as running it on every token."""
    model = tiny('backpack-lm').train()
    idx = torch.randint(0, 10, (4, 24))  # many repeats
    results = []
    for dedup in (True, False):
        model.config.sense_dedup = dedup
        model.zero_grad()
        logits, loss = model(idx, idx)
        loss.backward()
        results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    for g1, g2 in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-7)


def test_sense_vectors_are_the_same_in_every_context():
    model = tiny('backpack-lm')
    token = 7
    contexts = torch.tensor([[1, 2, token, 3], [token, 9, 9, 9], [4, 4, 4, token]])
    reference = model.sense_vectors(torch.tensor([token]))[0]
    assert reference.shape == (4, 16)
    for mode in ('train', 'eval'):  # the deduplicated path and the cached sense table
        model.train(mode == 'train')
        with torch.set_grad_enabled(mode == 'train'):
            senses = model._senses(contexts)  # (B, T, K, d)
        occurrences = [senses[0, 2], senses[1, 0], senses[2, 3]]
        for s in occurrences[1:]:
            assert torch.equal(s, occurrences[0])  # bit for bit
        torch.testing.assert_close(occurrences[0], reference, rtol=1e-6, atol=1e-7)


def test_contextualization_rows_are_causal_distributions():
    model = tiny('backpack-lm')
    alpha = model.contextualization(torch.randint(0, 50, (2, 15)))
    assert alpha.shape == (2, 4, 15, 15)
    assert (alpha >= 0).all()
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 4, 15))
    assert (alpha.triu(diagonal=1) == 0).all()


def test_interventions_remove_a_sense_contribution_exactly():
    model = tiny('backpack-lm')
    idx = torch.tensor([[3, 8, 5, 8, 1]])
    V, K = 50, 4
    # zeroing every sense of token 8 equals removing its terms from the explicit sum
    scale = torch.ones(V, K)
    scale[8] = 0
    with torch.no_grad():
        logits, _ = model(idx, all_logits=True, token_sense_scale=scale)
        _, _, alpha = model.forward_explicit(idx)
        senses = model.sense_vectors(idx[0]).clone()  # (T, K, d)
        senses[idx[0] == 8] = 0
        o = torch.einsum('kij,jkd->id', alpha[0], senses)
        torch.testing.assert_close(logits[0, :, :V], model.lm_head(o)[:, :V], rtol=1e-5, atol=1e-6)
        # per position and sense: scale 2 on one sense of one position
        pos_scale = torch.ones(1, 5, K)
        pos_scale[0, 1, 2] = 2.0
        a, _ = model(idx, all_logits=True, sense_scale=pos_scale)
        b, _, _ = model.forward_explicit(idx, sense_scale=pos_scale)
        torch.testing.assert_close(a[..., :V], b[..., :V], rtol=1e-5, atol=1e-6)
        assert (a[0, 0] == model(idx, all_logits=True)[0][0, 0]).all()  # position 0 cannot see it


def test_sense_table_is_recomputed_after_an_optimizer_step():
    model = tiny('backpack-lm')
    with torch.no_grad():
        before = model.sense_table().clone()
        assert model.sense_table().data_ptr() == model.sense_table().data_ptr()  # cached, not recomputed
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    idx = torch.randint(0, 50, (2, 10))
    model(idx, idx)[1].backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        after = model.sense_table()
        assert not torch.allclose(before, after)
        torch.testing.assert_close(after, model.sense_vectors(torch.arange(50)))
        # an in-place edit without train() also invalidates it
        model.sense_network.final_mlp.c_proj.weight.mul_(0.5)
        torch.testing.assert_close(model.sense_table(), model.sense_vectors(torch.arange(50)))


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_cached_generation_gives_the_same_tokens(model_name):
    model = tiny(model_name)
    prompt = torch.randint(0, 50, (2, 5))
    for new_tokens in (10, 40):  # 40 runs past block_size (24): the window slides
        with_cache = model.generate(prompt, new_tokens, temperature=0, use_cache=True)
        without = model.generate(prompt, new_tokens, temperature=0, use_cache=False)
        assert torch.equal(with_cache, without)
    # the cached forward pass gives the logits of the full forward pass, chunk by chunk
    idx = torch.randint(0, 50, (2, 20))
    full, _ = model(idx, all_logits=True)
    cache = model.new_cache()
    parts = [
        model.forward_cached(idx[:, :7], cache),
        model.forward_cached(idx[:, 7:8], cache),
        model.forward_cached(idx[:, 8:], cache),
    ]
    torch.testing.assert_close(torch.cat(parts, 1)[..., :50], full[..., :50], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_a_reordered_cache_follows_the_beams(model_name):
    """After reorder(parents), feeding one token per row gives the logits of each parent's
    sequence with that token appended, computed from scratch; the cache refuses to overflow."""
    model = tiny(model_name)
    idx = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        cache = model.new_cache()
        model.forward_cached(idx, cache)
        parents, tokens = torch.tensor([1, 1, 0]), torch.tensor([[3], [4], [5]])
        cache.reorder(parents)
        cached = model.forward_cached(tokens, cache)[:, -1]
        full, _ = model(torch.cat([idx[parents], tokens], dim=1))
    assert cache.length == 7
    torch.testing.assert_close(cached[..., :50], full[:, -1, :50], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="block size is only 24"):
        model.forward_cached(torch.zeros(3, 18, dtype=torch.long), cache)
    small = KVCache(n_layer=1, capacity=4)
    with pytest.raises(ValueError, match="holds 4 positions: cannot add 5 after 0"):
        small.extend_layer(0, torch.zeros(1, 2, 5, 8), torch.zeros(1, 2, 5, 8))


def test_generation_is_reproducible_with_a_generator():
    model = tiny('backpack-lm')
    prompt = torch.zeros(1, 1, dtype=torch.long)
    runs = [
        model.generate(prompt, 15, temperature=1.0, top_k=10, generator=torch.Generator().manual_seed(3))
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert (runs[0] < 50).all()  # never a padding id


def test_n_embd_must_be_divisible_by_n_sense_vector():
    with pytest.raises(ValueError, match='divisible by n_sense_vector'):
        BackpackLM(BackpackConfig(n_embd=30, n_head=3, n_sense_vector=16, vocab_size=50))


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match="'gpt2', 'backpack-lm'"):
        build_model('bert', **TINY)


# The four models of the project description, with its 10,000-token vocabulary and block size 256.
# Parameter counts (position embeddings and the embedding's padding rows excluded, the tied token
# embedding counted once; bias=False as in the configs):
PRESETS = {
    'Mini-GPT2': ('gpt2', dict(n_layer=6, n_head=6, n_embd=384), 14_461_824),
    'Mini-Backpack-16': ('backpack-lm', dict(n_layer=6, n_head=6, n_embd=384, n_sense_vector=16), 25_964_544),
    'Small-GPT2': ('gpt2', dict(n_layer=12, n_head=12, n_embd=768), 92_633_856),
    'Small-Backpack-16': (
        'backpack-lm',
        dict(n_layer=12, n_head=12, n_embd=768, n_sense_vector=16),
        138_642_432,
    ),
}


@pytest.mark.parametrize('preset', list(PRESETS))
def test_parameter_counts_of_the_four_presets(preset):
    model_name, shape, expected = PRESETS[preset]
    with torch.device('meta'):  # no memory, no init time
        model = build_model(model_name, vocab_size=10000, block_size=256, bias=False, **shape)
    assert model.get_num_params() == expected
    if model_name == 'backpack-lm':
        d, K = shape['n_embd'], 16
        gpt_twin = PRESETS[preset.replace('Backpack-16', 'GPT2')][2]
        # the Backpack adds the sense network (d->4d->d block, d->4d->K*d MLP, 3 LayerNorms)
        # and the sense weight heads (d -> 2d)
        extra = (2 * 4 * d * d) + (4 * d * d + 4 * d * K * d) + 3 * d + 2 * d * d
        assert expected - gpt_twin == extra


def test_flops_per_token_counts_the_backpack_extras():
    gpt = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, vocab_size=64, block_size=16))
    bp = BackpackLM(
        BackpackConfig(n_layer=2, n_head=2, n_embd=32, vocab_size=64, block_size=16, n_sense_vector=4)
    )
    assert bp.forward_flops_per_token(16) > gpt.forward_flops_per_token(16)
    assert bp.forward_flops_per_token(16, distinct_fraction=0.1) < bp.forward_flops_per_token(16)
    assert gpt.estimate_mfu(8, 1.0, peak_flops=None) is None
    assert 0 < bp.estimate_mfu(8, 1.0, peak_flops=1e12) < 1


@pytest.mark.parametrize('T,block_size', [(37, 8), (64, 64), (50, 128)])
def test_blocked_sense_sum_equals_attention_over_senses(T, block_size):
    """CausalSenseSum (queries in blocks, alpha recomputed in the backward pass) gives the output
    and gradients of attention with the sense vectors as values, summed over heads."""
    from model import CausalSenseSum

    torch.manual_seed(0)
    B, K, h, d = 2, 4, 6, 24
    q = torch.randn(B, K, T, h, requires_grad=True)
    k = torch.randn(B, K, T, h, requires_grad=True)
    v = torch.randn(B, T, K, d, requires_grad=True)
    reference = torch.nn.functional.scaled_dot_product_attention(q, k, v.transpose(1, 2), is_causal=True).sum(
        1
    )
    blocked = CausalSenseSum.apply(q, k, v, block_size)
    torch.testing.assert_close(blocked, reference, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(reference)
    for g1, g2 in zip(
        torch.autograd.grad(blocked, (q, k, v), grad), torch.autograd.grad(reference, (q, k, v), grad)
    ):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-5)


def test_bfloat16_autocast_on_cpu_trains():
    model = tiny('backpack-lm').train()
    idx = torch.randint(0, 50, (2, 24))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits, loss = model(idx, idx)
    loss.backward()
    assert math.isfinite(loss.item())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    reference, _ = model(idx, idx)
    assert (logits.float()[..., :50] - reference[..., :50]).abs().max() < 0.05


# Every design the models can be built as (model_args recorded in checkpoints): each fast path
# must compute what forward_explicit does for each of them.
VARIANTS = {
    'canonical': dict(),
    'no_embedding_residual': dict(sense_network='no_embedding_residual'),
    'original_project': dict(
        sense_network='original_project',
        sense_weight_bias=False,
        sense_scores_scaled=False,
        n_contextualization_layer=1,
        activation='gelu_tanh',
    ),
    'gpt2_options': dict(
        activation='gelu_tanh', scale_attn_by_inverse_layer_idx=True, layer_norm_epsilon=1e-6
    ),
}


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_every_fast_path_equals_the_explicit_path_in_every_variant(variant):
    model = tiny('backpack-lm', n_embd=32, n_sense_vector=8, **VARIANTS[variant])
    with torch.no_grad():  # weights far from init, so that every part matters
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    V = model.config.vocab_size
    idx = torch.randint(0, 20, (3, 24))  # repeated ids: the distinct-token path gathers
    scale = torch.ones(V, 8)
    scale[idx[0, 3]] = 0.0
    explicit, loss_explicit, _ = model.forward_explicit(idx, idx, token_sense_scale=scale)
    rel = lambda a, b: ((a[..., :V] - b[..., :V]).abs().max() / b[..., :V].abs().max()).item()
    with torch.no_grad():  # eval: the cached sense table and CausalSenseSum (SDPA on CUDA)
        logits, _ = model(idx, all_logits=True, token_sense_scale=scale)
        assert rel(logits, explicit) < 1e-5
        torch.testing.assert_close(model.sense_table()[idx], model.sense_vectors(idx))
        cache = model.new_cache()
        parts = [
            model.forward_cached(idx[:, :7], cache, token_sense_scale=scale),
            model.forward_cached(idx[:, 7:8], cache, token_sense_scale=scale),
            model.forward_cached(idx[:, 8:], cache, token_sense_scale=scale),
        ]
        assert rel(torch.cat(parts, 1), explicit) < 1e-5
    model.train()
    for dedup in (True, False):  # training: distinct-token sense network, and every token
        model.config.sense_dedup = dedup
        _, loss = model(idx, idx, token_sense_scale=scale)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        grads_explicit = torch.autograd.grad(
            model.forward_explicit(idx, idx, token_sense_scale=scale)[1], list(model.parameters())
        )
        for g, ge in zip(grads, grads_explicit):
            torch.testing.assert_close(g, ge, rtol=1e-4, atol=1e-6)
    gpt = tiny(
        'gpt2',
        **{
            k: v
            for k, v in VARIANTS[variant].items()
            if k in ('activation', 'scale_attn_by_inverse_layer_idx', 'layer_norm_epsilon')
        },
    )
    prompt = torch.randint(0, 50, (2, 5))
    assert torch.equal(
        gpt.generate(prompt, 10, temperature=0), gpt.generate(prompt, 10, temperature=0, use_cache=False)
    )


def test_a_checkpoint_without_a_sense_network_field_loads_as_the_earlier_design():
    """Checkpoints written before the canonical sense network keep computing what they did."""
    from common.checkpoint import model_from_checkpoint

    old = tiny('backpack-lm', sense_network='no_embedding_residual')
    args = dict(TINY, n_sense_vector=4)  # what train.py recorded then: no sense_network key
    loaded = model_from_checkpoint(
        {'model_name': 'backpack-lm', 'model_args': args, 'model': old.state_dict()}
    ).eval()
    assert loaded.config.sense_network == 'no_embedding_residual'
    idx = torch.randint(0, 50, (2, 10))
    torch.testing.assert_close(loaded(idx, all_logits=True)[0], old(idx, all_logits=True)[0])
    assert build_model('backpack-lm', **args).config.sense_network == 'canonical'  # new models


def test_canonical_sense_network_adds_the_embedding_to_its_residual_stream():
    """r1 = LN0(e) + e, r2 = r1 + MLP(LN1(r1)), senses = FinalMLP(LN2(r2)), K-major (backpack.md)."""
    model = tiny('backpack-lm')
    net, e = model.sense_network, model.transformer.wte.weight[:5]
    r1 = net.ln_0(e) + e
    r2 = r1 + net.mlp(net.ln_1(r1))
    expected = net.final_mlp(net.ln_2(r2)).view(5, 4, 16)
    torch.testing.assert_close(model.sense_vectors(torch.arange(5)), expected)


def test_evaluation_after_a_weight_update_does_not_recompile():
    """Under torch.compile the sense table's reuse test (the weights' versions) is no guard:
    an evaluation after an optimizer step reuses the compiled graphs (backend 'eager', which
    traces as compile does, keeps this fast)."""
    import torch._dynamo

    torch._dynamo.reset()
    model = tiny('backpack-lm')
    compiled = torch.compile(model, backend='eager')
    idx = torch.randint(0, 50, (2, 12))
    with torch.no_grad():
        first, _ = compiled(idx)
        for p in model.parameters():
            p.add_(0.01)
        with torch._dynamo.config.patch(error_on_recompile=True):
            second, _ = compiled(idx)
    assert not torch.equal(first, second)  # the table was recomputed for the new weights
    torch._dynamo.reset()
